"""Pure modelling core: hyperparameters and the scikit-learn pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline

from diabetes_model.errors import UserError

# Defaults tuned for a few hundred rows; every other estimator parameter is reachable with --param.
# azureml/train.yml gives the named three the same values (tests/test_job_specs.py checks).
DEFAULT_HYPERPARAMETERS: dict[str, Any] = {
    "learning_rate": 0.05,
    "max_iter": 200,
    "max_depth": 3,
    "min_samples_leaf": 20,
}
# The hyperparameters with a flag of their own (--learning-rate, ...): --param may not set them.
NAMED_HYPERPARAMETERS = ("learning_rate", "max_iter", "max_depth")


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
    """Turn ['l2_regularization=1', ...] into {'l2_regularization': 1, ...}, refusing names the
    model lacks and the named hyperparameters, which have flags of their own."""
    known = known_hyperparameters()
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise UserError(f"--param expects name=value, got '{pair}'")
        if name in NAMED_HYPERPARAMETERS:
            flag = "--" + name.replace("_", "-")
            raise UserError(
                f"--param {pair}: {name} has its own flag; use {flag} {value.strip()} instead"
            )
        if name not in known:
            raise UserError(f"unknown hyperparameter '{name}'; known: {', '.join(known)}")
        if name in params:
            raise UserError(f"--param {name} is given twice; give it once")
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
