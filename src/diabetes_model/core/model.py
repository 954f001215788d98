"""Pure modelling core: hyperparameters and the scikit-learn pipeline for a table's schema."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from diabetes_model.core.schema import MAX_CATEGORIES, Schema
from diabetes_model.errors import UserError

ESTIMATORS = {
    "regression": HistGradientBoostingRegressor,
    "classification": HistGradientBoostingClassifier,
}
# Set from the table's schema, never by hand.
MANAGED = ("categorical_features",)

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


def known_hyperparameters(task: str | None = None) -> list[str]:
    """The estimator parameters --param may set: the task's, or either estimator's."""
    tasks = [task] if task else list(ESTIMATORS)
    names = {name for t in tasks for name in ESTIMATORS[t]().get_params()}
    return sorted(names - set(MANAGED))


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


def build_pipeline(
    schema: Schema, hyperparameters: Mapping[str, Any], random_state: int
) -> Pipeline:
    """Gradient boosting for the schema's task, behind what its columns need: the median for a
    missing number, and categories (booleans too) encoded inside the pipeline, so the saved model
    loads anywhere scikit-learn is installed, without this package. A category unseen in training
    is treated as a missing value, so it still gets a prediction."""
    estimator = ESTIMATORS[schema.task]
    wrong = sorted(set(hyperparameters) - set(known_hyperparameters(schema.task)))
    if wrong:
        raise UserError(
            f"{', '.join(wrong)} is not a parameter of the {schema.task} model; drop the --param"
        )
    params = {"random_state": random_state, **DEFAULT_HYPERPARAMETERS, **hyperparameters}
    numeric = schema.of_kind("numeric")
    categorical = schema.of_kind("categorical", "boolean")
    impute = SimpleImputer(strategy="median", keep_empty_features=True)
    if not categorical:  # the same pipeline as a table of numbers has always had
        return Pipeline([("impute", impute), ("model", estimator(**params))])
    most = min(int(params.get("max_bins", MAX_CATEGORIES)), MAX_CATEGORIES)
    encode = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        encoded_missing_value=np.nan,
        max_categories=most,
    )
    columns = ColumnTransformer(
        [("numeric", impute, numeric), ("categorical", encode, categorical)],
        verbose_feature_names_out=False,
    )
    # The transformer puts the numeric columns first, then the categorical ones.
    params["categorical_features"] = [False] * len(numeric) + [True] * len(categorical)
    return Pipeline([("columns", columns), ("model", estimator(**params))])
