"""Drift statistics: how far recent inference inputs have moved from the training data, per feature.

Pure: frames in, numbers out. A feature drifts when both views agree:
- PSI (population stability index) over the training data's deciles is above the threshold (0.2:
  the usual line for a shift large enough to matter);
- the two-sample Kolmogorov-Smirnov test says the shift is not sampling noise: p-value below
  `ks_alpha` divided by the number of features (Bonferroni, so ten features are not ten chances
  of a false alarm).
PSI alone raises false alarms on small samples (its noise floor is about bins/rows); KS alone
flags negligible shifts on large ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

DEFAULT_BINS = 10
PSI_THRESHOLD = 0.2
KS_ALPHA = 0.01
# Keeps log(0) out of PSI when a bin is empty on one side.
_EMPTY_BIN_SHARE = 1e-4


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's drift statistics and verdict."""

    feature: str
    psi: float
    ks_statistic: float
    ks_pvalue: float
    reference_rows: int
    current_rows: int
    drifted: bool


@dataclass(frozen=True)
class DriftResult:
    """All features compared, and the thresholds used."""

    features: tuple[FeatureDrift, ...]
    psi_threshold: float
    ks_alpha: float

    @property
    def drifted(self) -> list[str]:
        """Names of the features over a threshold."""
        return [f.feature for f in self.features if f.drifted]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a JSON report."""
        return {
            "psi_threshold": self.psi_threshold,
            "ks_alpha": self.ks_alpha,
            "drifted": self.drifted,
            "features": [asdict(f) for f in self.features],
        }


def bin_edges(reference: np.ndarray, bins: int = DEFAULT_BINS) -> np.ndarray:
    """Interior edges at the reference quantiles; repeated quantiles merge into one edge."""
    quantiles = np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(quantiles)


def psi(reference: Sequence[float], current: Sequence[float], bins: int = DEFAULT_BINS) -> float:
    """Population stability index of `current` against `reference`, on reference quantile bins."""
    reference, current = _finite(reference), _finite(current)
    if reference.size == 0 or current.size == 0:
        raise ValueError("PSI needs at least one value on each side")
    edges = bin_edges(reference, bins)
    # side="right": a value equal to an edge goes to the bin above it, for both samples alike.
    expected = _shares(np.searchsorted(edges, reference, side="right"), edges.size + 1)
    actual = _shares(np.searchsorted(edges, current, side="right"), edges.size + 1)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def compare(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: Sequence[str],
    psi_threshold: float = PSI_THRESHOLD,
    ks_alpha: float = KS_ALPHA,
    bins: int = DEFAULT_BINS,
) -> DriftResult:
    """PSI and KS for each feature; a feature drifts when PSI is high and KS is significant."""
    missing = [f for f in features if f not in reference.columns or f not in current.columns]
    if missing:
        raise ValueError(f"features missing from the data: {', '.join(missing)}")
    if psi_threshold <= 0 or not 0 < ks_alpha < 1:
        raise ValueError("psi_threshold must be positive and ks_alpha between 0 and 1")
    per_feature_alpha = ks_alpha / max(len(features), 1)
    results = []
    for feature in features:
        ref, cur = _finite(reference[feature]), _finite(current[feature])
        value = psi(ref, cur, bins)
        ks = stats.ks_2samp(ref, cur)
        results.append(
            FeatureDrift(
                feature=feature,
                psi=value,
                ks_statistic=float(ks.statistic),
                ks_pvalue=float(ks.pvalue),
                reference_rows=int(ref.size),
                current_rows=int(cur.size),
                drifted=bool(value > psi_threshold and ks.pvalue < per_feature_alpha),
            )
        )
    return DriftResult(tuple(results), psi_threshold, ks_alpha)


def _finite(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


def _shares(bin_index: np.ndarray, bins: int) -> np.ndarray:
    counts = np.bincount(bin_index, minlength=bins).astype(float)
    return np.maximum(counts / counts.sum(), _EMPTY_BIN_SHARE)
