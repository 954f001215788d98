"""Split, fit and score in memory: nothing is logged unless this succeeds. Pure but for the
garbage collector, which the training process pauses (see `cyclic_gc_while_fitting`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from diabetes_model.core.schema import Schema
from diabetes_model.errors import UserError

# Train-set metrics (a check for overfitting) are computed on at most this many rows: on a large
# table they cost a prediction pass over all of it and tell no more than a sample does (on 25,000
# rows an accuracy is within about half a percentage point).
TRAIN_METRIC_ROWS = 25_000


@dataclass(frozen=True)
class FitResult:
    pipeline: Any
    hyperparameters: dict[str, Any]
    metrics: dict[str, float]
    # The primary metric of a trivial model (the mean, or the class shares) on the test rows.
    baseline: float
    x_train: Any
    y_test: Any
    test_predictions: Any
    # Class probabilities of the test rows, a column per class (classification only).
    test_proba: Any = None

    @property
    def classes(self) -> list[Any]:
        return list(getattr(self.pipeline, "classes_", []))


def split_rows(frame: Any, schema: Schema, test_size: float, random_state: int) -> tuple[Any, Any]:
    """The train and test rows (stratified by class for classification); one line if a class is
    too small for its share of the test rows."""
    from sklearn.model_selection import train_test_split

    if not 0 < test_size < 1:
        raise UserError(f"--test-size must be between 0 and 1, got {test_size}")
    stratify = frame[schema.target] if schema.task == "classification" else None
    try:
        return train_test_split(
            frame, test_size=test_size, random_state=random_state, stratify=stratify
        )
    except ValueError as error:
        raise UserError(f"cannot split the rows into train and test: {error}") from None


@dataclass(frozen=True)
class Rows:
    """The features and the target of the train and test rows, typed as the model takes them."""

    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any


def training_rows(
    frame: Any, schema: Schema, test_size: float, random_state: int, test_frame: Any = None
) -> Rows:
    """Split (stratified for classes) and type the rows; with `test_frame` (a pipeline's prep
    step split them) `frame` is the training rows and nothing is split here.

    Each intermediate frame is let go as soon as the next is made, so a caller that keeps no
    reference to `frame` holds about one copy of the table while the model fits.
    """
    from diabetes_model.core.data import split_xy

    if test_frame is None:
        frame, test_frame = split_rows(frame, schema, test_size, random_state)
    x_train, y_train = split_xy(frame, schema)
    del frame
    x_test, y_test = split_xy(test_frame, schema)
    return Rows(x_train, y_train, x_test, y_test)


def checked_pipeline(schema: Schema, hyperparameters: Mapping[str, Any], random_state: int) -> Any:
    """The pipeline to fit; a value the model refuses is a UserError, found as its fit would find
    it but before any work (the training run's store is not touched for a run that cannot fit)."""
    from sklearn.utils._param_validation import InvalidParameterError

    from diabetes_model.core.model import build_pipeline

    pipeline = build_pipeline(schema, hyperparameters, random_state)
    try:
        pipeline[-1]._validate_params()  # the check scikit-learn's fit starts with
    except (InvalidParameterError, TypeError) as error:
        raise UserError(f"invalid hyperparameter: {error}; fix the flag or --param") from None
    return pipeline


def fit_and_evaluate(
    rows: Rows,
    schema: Schema,
    pipeline: Any,
    hyperparameters: Mapping[str, Any],
    random_state: int,
) -> FitResult:
    """Fit the pipeline (checked_pipeline's, for these hyperparameters) and score it."""
    from diabetes_model.core.model import DEFAULT_HYPERPARAMETERS

    with cyclic_gc_while_fitting():
        pipeline.fit(rows.x_train, rows.y_train)
    evaluate = _classification if schema.task == "classification" else _regression
    metrics, baseline, predictions, proba = evaluate(
        pipeline, rows.x_train, rows.y_train, rows.x_test, rows.y_test, random_state
    )
    return FitResult(
        pipeline=pipeline,
        hyperparameters={**DEFAULT_HYPERPARAMETERS, **hyperparameters},
        metrics=metrics,
        baseline=baseline,
        x_train=rows.x_train,
        y_test=rows.y_test.to_numpy(),
        test_predictions=predictions,
        test_proba=proba,
    )


def _train_sample(x_train: Any, y_train: Any, random_state: int) -> tuple[Any, Any]:
    if len(x_train) <= TRAIN_METRIC_ROWS:
        return x_train, y_train
    sample = x_train.sample(TRAIN_METRIC_ROWS, random_state=random_state)
    return sample, y_train.loc[sample.index]


def _regression(pipeline, x_train, y_train, x_test, y_test, random_state):
    from diabetes_model.core.metrics import regression_metrics

    x_seen, y_seen = _train_sample(x_train, y_train, random_state)
    predictions = pipeline.predict(x_test)
    metrics = {
        **regression_metrics(y_seen.to_numpy(), pipeline.predict(x_seen)).as_dict("train"),
        **regression_metrics(y_test.to_numpy(), predictions).as_dict("test"),
    }
    mean = np.full(len(y_test), float(y_train.mean()))
    baseline = regression_metrics(y_test.to_numpy(), mean).rmse
    return metrics, baseline, predictions, None


def _classification(pipeline, x_train, y_train, x_test, y_test, random_state):
    from diabetes_model.core.metrics import classification_metrics, prefixed, roc_auc

    classes = list(pipeline.classes_)
    x_seen, y_seen = _train_sample(x_train, y_train, random_state)
    seen_proba = pipeline.predict_proba(x_seen)
    proba = pipeline.predict_proba(x_test)
    # Labels from the probabilities: one pass over the rows instead of two.
    seen_predictions = pipeline.classes_[seen_proba.argmax(axis=1)]
    predictions = pipeline.classes_[proba.argmax(axis=1)]
    metrics = {
        **prefixed(classification_metrics(y_seen, seen_predictions, seen_proba, classes), "train"),
        **prefixed(classification_metrics(y_test, predictions, proba, classes), "test"),
    }
    shares = y_train.value_counts(normalize=True).reindex(classes).fillna(0.0).to_numpy()
    baseline = roc_auc(y_test, np.tile(shares, (len(y_test), 1)), classes)
    return metrics, baseline, predictions, proba


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
