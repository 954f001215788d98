"""How well a model predicts: the metrics every training logs. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


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
