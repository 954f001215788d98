"""The gate between a new model and the registry: does the candidate deserve to replace the
champion? Pure: scores in, a decision with its reason out.

The rule, as the README states it: the candidate must beat the trivial baseline (the mean, or the
class shares) on the test rows; with no champion that is enough; with one, the candidate passes
when it is not worse than the champion, on the task's primary metric, by more than `tolerance`
(a fraction of the champion's score: 0.01 lets it be 1% worse).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from diabetes_model.core.metrics import PRIMARY, is_better
from diabetes_model.errors import UserError

TRIVIAL = {"regression": "predicting the mean", "classification": "predicting the class shares"}


def trivial_score(task: str, y_train: Any, y_test: Any, classes: Any = ()) -> float:
    """The primary metric of the trivial model on the test rows: the training mean for regression,
    the training class shares for classification (as training's baseline check)."""
    import numpy as np
    import pandas as pd

    from diabetes_model.core.metrics import regression_metrics, roc_auc

    if task == "regression":
        mean = np.full(len(y_test), float(np.mean(y_train)))
        return regression_metrics(np.asarray(y_test, dtype=float), mean).rmse
    shares = pd.Series(y_train).value_counts(normalize=True).reindex(list(classes)).fillna(0.0)
    return roc_auc(y_test, np.tile(shares.to_numpy(), (len(y_test), 1)), list(classes))


@dataclass(frozen=True)
class Decision:
    """What the gate decided and why, with the scores it compared (written as decision.json)."""

    promote: bool
    reason: str
    task: str
    metric: str  # the logged name, e.g. test_rmse
    goal: str  # minimize or maximize
    candidate: float
    baseline: float
    tolerance: float
    champion: float | None = None  # the champion's score on the same test rows
    champion_version: str | None = None
    # How much worse the candidate is than the champion, as a fraction of the champion's score
    # (negative: better); None without a champion.
    margin: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Decision:
        return cls(**{name: values[name] for name in cls.__dataclass_fields__ if name in values})


def check_tolerance(tolerance: float) -> float:
    if not 0 <= tolerance < 1:  # NaN fails too
        raise UserError(
            f"the gate's tolerance is {tolerance}; it must be a fraction from 0 (no worse than "
            "the champion) up to, not including, 1: fix pipeline.tolerance in invoke.yaml"
        )
    return tolerance


def worsening(goal: str, candidate: float, champion: float) -> float:
    """How much worse the candidate is, as a fraction of the champion's score (negative: better)."""
    difference = candidate - champion if goal == "minimize" else champion - candidate
    if champion == 0:
        return 0.0 if difference <= 0 else math.inf
    return difference / abs(champion)


def decide(
    task: str,
    candidate: float,
    baseline: float,
    tolerance: float,
    champion: float | None = None,
    champion_version: str | None = None,
    champion_error: str = "",
) -> Decision:
    """The gate's decision for scores on the same test rows (`champion` None: there is none;
    `champion_error`: why the champion could not score them, which keeps the candidate out)."""
    name, goal = PRIMARY[task]
    metric = f"test_{name}"
    judged = Decision(
        promote=False,
        reason="",
        task=task,
        metric=metric,
        goal=goal,
        candidate=candidate,
        baseline=baseline,
        tolerance=check_tolerance(tolerance),
        champion=champion,
        champion_version=champion_version,
    )
    if math.isnan(candidate):
        return _with(judged, False, f"{metric} is undefined on these test rows (a class missing?)")
    if not is_better(task, candidate, baseline):
        why = f"{metric} {candidate:.4g} is no better than {TRIVIAL[task]} ({baseline:.4g})"
        return _with(judged, False, why)
    if champion_error:
        why = (
            f"champion version {champion_version} cannot score these test rows ({champion_error}); "
            "replace it deliberately with --promote-anyway"
        )
        return _with(judged, False, why)
    if champion is None:
        return _with(
            judged, True, f"no champion yet; {metric} {candidate:.4g} beats {TRIVIAL[task]}"
        )
    if math.isnan(champion):
        return _with(judged, True, f"the champion's {metric} is undefined on these test rows")
    return _against_champion(judged, champion, champion_version)


def _against_champion(judged: Decision, champion: float, version: str | None) -> Decision:
    margin = worsening(judged.goal, judged.candidate, champion)
    scores = (
        f"{judged.metric} {judged.candidate:.4g} vs champion version {version}'s {champion:.4g}"
    )
    if margin <= 0:
        comparison = "equal" if margin == 0 else f"{-margin:.1%} better"
        return _with(judged, True, f"{scores}: {comparison}", margin)
    limit = f"the {judged.tolerance:.1%} tolerance"
    if margin <= judged.tolerance:
        return _with(judged, True, f"{scores}: {margin:.1%} worse, within {limit}", margin)
    return _with(judged, False, f"{scores}: {margin:.1%} worse, beyond {limit}", margin)


def _with(judged: Decision, promote: bool, reason: str, margin: float | None = None) -> Decision:
    import dataclasses

    return dataclasses.replace(judged, promote=promote, reason=reason, margin=margin)
