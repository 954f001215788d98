"""Drift statistics: how far recent inference inputs have moved from the training data, per feature.

Pure: frames in, numbers out. A feature drifts when both views agree:
- PSI (population stability index) is above the threshold (0.2: the usual line for a shift large
  enough to matter), over the training data's deciles for a number and over its categories for a
  category or a boolean (values training never saw count as one category of their own);
- a significance test says the shift is not sampling noise: the two-sample Kolmogorov-Smirnov test
  for numbers, Pearson's chi-squared test of the category counts for categories, with a p-value
  below `alpha` divided by the number of features (Bonferroni, so ten features are not ten chances
  of a false alarm).
PSI alone raises false alarms on small samples (its noise floor is about bins/rows); a test alone
flags negligible shifts on large ones. Categories training never saw are reported by name.
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
ALPHA = 0.01
NEW = "(new)"  # the bucket of categories the training data does not have
# Keeps log(0) out of PSI when a bin is empty on one side.
_EMPTY_BIN_SHARE = 1e-4


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's drift statistics and verdict."""

    feature: str
    kind: str  # numeric, or categorical (booleans too)
    psi: float
    test: str  # "KS" or "chi-squared"
    statistic: float
    pvalue: float
    reference_rows: int
    current_rows: int
    drifted: bool
    # Categories in the recent inputs that the training data does not have.
    new_categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class DriftResult:
    """All features compared, and the thresholds used."""

    features: tuple[FeatureDrift, ...]
    psi_threshold: float
    alpha: float

    @property
    def drifted(self) -> list[str]:
        """Names of the features over a threshold."""
        return [f.feature for f in self.features if f.drifted]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a JSON report."""
        return {
            "psi_threshold": self.psi_threshold,
            "alpha": self.alpha,
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


def category_psi(reference: Sequence[Any], current: Sequence[Any]) -> tuple[float, Any]:
    """PSI over the reference's categories, new ones in a bucket of their own; also the counts
    (reference, current) over those buckets for the chi-squared test."""
    ref, cur = _categories(reference), _categories(current)
    if ref.empty or cur.empty:
        raise ValueError("PSI needs at least one value on each side")
    known = sorted(set(ref))
    buckets = [*known, NEW]
    ref_counts = ref.value_counts().reindex(buckets, fill_value=0).to_numpy(dtype=float)
    cur_counts = cur.where(cur.isin(known), NEW).value_counts().reindex(buckets, fill_value=0)
    cur_counts = cur_counts.to_numpy(dtype=float)
    expected = np.maximum(ref_counts / ref_counts.sum(), _EMPTY_BIN_SHARE)
    actual = np.maximum(cur_counts / cur_counts.sum(), _EMPTY_BIN_SHARE)
    return float(np.sum((actual - expected) * np.log(actual / expected))), (ref_counts, cur_counts)


def compare(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: Sequence[str],
    psi_threshold: float = PSI_THRESHOLD,
    alpha: float = ALPHA,
    bins: int = DEFAULT_BINS,
    categorical: Sequence[str] = (),
) -> DriftResult:
    """PSI and a significance test for each feature (`categorical` ones by category); a feature
    drifts when its PSI is high and its test significant."""
    missing = [f for f in features if f not in reference.columns or f not in current.columns]
    if missing:
        raise ValueError(f"features missing from the data: {', '.join(missing)}")
    if psi_threshold <= 0 or not 0 < alpha < 1:
        raise ValueError("psi_threshold must be positive and alpha between 0 and 1")
    per_feature_alpha = alpha / max(len(features), 1)
    results = []
    for feature in features:
        measure = _categorical if feature in categorical else _numeric
        drift = measure(feature, reference[feature], current[feature], bins)
        significant = drift.pvalue < per_feature_alpha
        drifted = bool(drift.psi > psi_threshold and significant)
        results.append(_with(drift, drifted=drifted))
    return DriftResult(tuple(results), psi_threshold, alpha)


def _numeric(feature: str, reference: Any, current: Any, bins: int) -> FeatureDrift:
    ref, cur = _finite(reference), _finite(current)
    value = psi(ref, cur, bins)
    ks = stats.ks_2samp(ref, cur)
    return FeatureDrift(
        feature, "numeric", value, "KS", float(ks.statistic), float(ks.pvalue),
        int(ref.size), int(cur.size), drifted=False,
    )  # fmt: skip


def _categorical(feature: str, reference: Any, current: Any, bins: int) -> FeatureDrift:
    value, (ref_counts, cur_counts) = category_psi(reference, current)
    seen = (ref_counts + cur_counts) > 0
    table = np.vstack([ref_counts[seen], cur_counts[seen]])
    if table.shape[1] < 2:  # one category on both sides: nothing can have moved
        statistic, pvalue = 0.0, 1.0
    else:
        test = stats.chi2_contingency(table, correction=False)
        statistic, pvalue = float(test.statistic), float(test.pvalue)
    known = set(_categories(reference))
    new = tuple(sorted({v for v in _categories(current) if v not in known}))
    return FeatureDrift(
        feature, "categorical", value, "chi-squared", statistic, pvalue,
        int(ref_counts.sum()), int(cur_counts.sum()), drifted=False, new_categories=new,
    )  # fmt: skip


def _with(drift: FeatureDrift, **changes: Any) -> FeatureDrift:
    return FeatureDrift(**{**asdict(drift), **changes})


def _categories(values: Sequence[Any]) -> pd.Series:
    """The values as text, missing ones left out (a missing value is not a category)."""
    series = pd.Series(values, dtype=object)
    return series[series.notna()].astype(str)


def _finite(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


def _shares(bin_index: np.ndarray, bins: int) -> np.ndarray:
    counts = np.bincount(bin_index, minlength=bins).astype(float)
    return np.maximum(counts / counts.sum(), _EMPTY_BIN_SHARE)
