"""Pure modelling core: hyperparameters, the scikit-learn pipeline, and its metrics."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.pipeline import Pipeline

from diabetes_model.errors import UserError

# Defaults tuned for a few hundred rows; every other estimator parameter is reachable with --param.
DEFAULT_HYPERPARAMETERS: dict[str, Any] = {
    "learning_rate": 0.05,
    "max_iter": 200,
    "max_depth": 3,
    "min_samples_leaf": 20,
}


def known_hyperparameters() -> list[str]:
    return sorted(HistGradientBoostingRegressor().get_params())


def parse_value(text: str) -> Any:
    """'3' -> 3, '0.1' -> 0.1, 'true' -> True, 'none' -> None; anything else stays a string."""
    lowered = text.strip().lower()
    if lowered in {"none", "null"}:
        return None
    if lowered in {"true", "false"}:
        return lowered == "true"
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            continue
    return text.strip()


def parse_param_pairs(pairs: Iterable[str]) -> dict[str, Any]:
    """Turn ['max_iter=50', ...] into {'max_iter': 50, ...}, refusing names the model lacks."""
    known = known_hyperparameters()
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise UserError(f"--param expects name=value, got '{pair}'")
        if name not in known:
            raise UserError(f"unknown hyperparameter '{name}'; known: {', '.join(known)}")
        params[name] = parse_value(value)
    return params


def build_pipeline(hyperparameters: Mapping[str, Any], random_state: int) -> Pipeline:
    """Median imputation then gradient boosting; only scikit-learn classes, so the saved model
    loads anywhere scikit-learn is installed, without this package."""
    params = {"random_state": random_state, **DEFAULT_HYPERPARAMETERS, **hyperparameters}
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("model", HistGradientBoostingRegressor(**params)),
        ]
    )


@dataclass(frozen=True)
class RegressionMetrics:
    rmse: float
    mae: float
    r2: float

    def as_dict(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}_rmse": self.rmse, f"{prefix}_mae": self.mae, f"{prefix}_r2": self.r2}


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> RegressionMetrics:
    return RegressionMetrics(
        rmse=math.sqrt(mean_squared_error(y_true, y_pred)),
        mae=float(mean_absolute_error(y_true, y_pred)),
        r2=float(r2_score(y_true, y_pred)),
    )
