"""Tables people bring, for the tests: scikit-learn's bundled data sets, and a generated one with
text categories, true/false values and gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd


def bundled(name: str, target_names: bool = False) -> pd.DataFrame:
    """A table from scikit-learn's bundled data sets, the target as `label`."""
    from sklearn import datasets

    loaded = getattr(datasets, f"load_{name}")(as_frame=True)
    frame = loaded.frame.rename(columns={"target": "label"})
    if target_names:  # the class names as text, as people's tables have them
        frame["label"] = np.asarray(loaded.target_names)[frame["label"]]
    return frame


def penguins(rows: int = 300, seed: int = 3) -> pd.DataFrame:
    """Text categories with gaps, a boolean with gaps, numbers with gaps, and a species label."""
    rng = np.random.default_rng(seed)
    species = rng.choice(["Adelie", "Chinstrap", "Gentoo"], rows)
    island = np.where(species == "Gentoo", "Biscoe", rng.choice(["Dream", "Torgersen"], rows))
    frame = pd.DataFrame(
        {
            "island": island,
            "bill_mm": np.where(species == "Adelie", 38.0, 48.0) + rng.normal(0, 2, rows),
            "mass_g": np.where(species == "Gentoo", 5000.0, 3700.0) + rng.normal(0, 300, rows),
            "male": rng.choice(["True", "False"], rows),
            "species": species,
        }
    )
    frame.loc[::17, "island"] = None
    frame.loc[::19, "male"] = None
    frame.loc[::23, "mass_g"] = np.nan
    return frame
