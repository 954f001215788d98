"""Split, fit and score in memory: nothing is logged unless this succeeds. Pure but for the
garbage collector, which the training process pauses (see `cyclic_gc_while_fitting`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from diabetes_model.errors import UserError


@dataclass(frozen=True)
class FitResult:
    pipeline: Any
    hyperparameters: dict[str, Any]
    metrics: dict[str, float]
    x_train: Any
    y_test: Any
    test_predictions: Any
    train_predictions: Any


def fit_and_evaluate(
    frame: Any,
    target: str,
    hyperparameters: Mapping[str, Any],
    test_size: float,
    random_state: int,
) -> FitResult:
    """Split, fit and score; a bad split or hyperparameter value is a UserError."""
    from sklearn.model_selection import train_test_split
    from sklearn.utils._param_validation import InvalidParameterError

    from diabetes_model.core.data import split_xy
    from diabetes_model.core.metrics import regression_metrics
    from diabetes_model.core.model import DEFAULT_HYPERPARAMETERS, build_pipeline

    if not 0 < test_size < 1:
        raise UserError(f"--test-size must be between 0 and 1, got {test_size}")
    features, labels = split_xy(frame, target)
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=test_size, random_state=random_state
    )
    pipeline = build_pipeline(hyperparameters, random_state)
    try:
        with cyclic_gc_while_fitting():
            pipeline.fit(x_train, y_train)
    except InvalidParameterError as error:
        raise UserError(f"invalid hyperparameter: {error}; fix the flag or --param") from None
    train_predictions = pipeline.predict(x_train)
    test_predictions = pipeline.predict(x_test)
    metrics = {
        **regression_metrics(y_train.to_numpy(), train_predictions).as_dict("train"),
        **regression_metrics(y_test.to_numpy(), test_predictions).as_dict("test"),
    }
    return FitResult(
        pipeline=pipeline,
        hyperparameters={**DEFAULT_HYPERPARAMETERS, **hyperparameters},
        metrics=metrics,
        x_train=x_train,
        y_test=y_test.to_numpy(),
        test_predictions=test_predictions,
        train_predictions=train_predictions,
    )


@contextmanager
def cyclic_gc_while_fitting() -> Iterator[None]:
    """Collect reference cycles while the model fits, even where the entry point paused collection.

    The fit is the part a user may make long (a bigger model, more data), so it must not pile up
    garbage. Freezing first spares the collector the objects that exist already.
    """
    paused = not gc.isenabled()
    if paused:
        gc.freeze()
        gc.enable()
    try:
        yield
    finally:
        if paused:
            gc.disable()
