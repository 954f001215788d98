"""How well a model predicts: the metrics every training logs, each task's primary metric, and
the trivial baseline a model must beat. Pure."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# The metric a task is judged by (sweeps, the gate, the baseline check) and which way is better.
PRIMARY = {"regression": ("rmse", "minimize"), "classification": ("roc_auc", "maximize")}


@dataclass(frozen=True)
class RegressionMetrics:
    rmse: float
    mae: float
    r2: float

    def as_dict(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}_rmse": self.rmse, f"{prefix}_mae": self.mae, f"{prefix}_r2": self.r2}


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> RegressionMetrics:
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    return RegressionMetrics(
        rmse=math.sqrt(mean_squared_error(y_true, y_pred)),
        mae=float(mean_absolute_error(y_true, y_pred)),
        r2=float(r2_score(y_true, y_pred)),
    )


def classification_metrics(
    y_true: Sequence[Any], y_pred: Sequence[Any], proba: np.ndarray, classes: Sequence[Any]
) -> dict[str, float]:
    """Accuracy, balanced accuracy, F1 (macro), ROC AUC (one-vs-rest for several classes) and
    log loss; `proba` has one column per class, in the order of `classes`."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, log_loss

    labels = list(classes)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "f1_macro": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "roc_auc": roc_auc(y_true, proba, labels),
        "log_loss": float(log_loss(y_true, proba, labels=labels)),
    }


def roc_auc(y_true: Sequence[Any], proba: np.ndarray, classes: Sequence[Any]) -> float:
    """ROC AUC of the positive (second) class, or the mean one-vs-rest AUC over the classes the
    test rows hold (a small test split may lack a class; NaN when no class can be scored)."""
    from sklearn.metrics import roc_auc_score

    truth = np.asarray(y_true)
    pairs = [(1, classes[1])] if len(classes) == 2 else list(enumerate(classes))
    scores = [
        roc_auc_score(truth == label, proba[:, index])
        for index, label in pairs
        if 0 < (truth == label).sum() < len(truth)
    ]
    return float(np.mean(scores)) if scores else math.nan


def prefixed(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    return {f"{prefix}_{name}": value for name, value in metrics.items()}


def is_better(task: str, candidate: float, reference: float) -> bool:
    """Whether `candidate` beats `reference` on the task's primary metric (NaN never does)."""
    if math.isnan(candidate):
        return False
    return candidate < reference if PRIMARY[task][1] == "minimize" else candidate > reference
