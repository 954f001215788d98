"""The scoring answer: what score.py returns for the model's outputs, and the check its callers
(`invoke predict`, the deploy smoke test) run on one. Pure: no I/O, no MLflow.

Regression, one number per row:    {"predictions": [151.2, 98.7]}
Classification, one label per row and the probability of every class, in the model's class order:
    {"predictions": ["setosa", "virginica"],
     "probabilities": [{"setosa": 0.97, "versicolor": 0.02, "virginica": 0.01}, ...]}

A label is the JSON value the training table had (text, a whole number, true/false); as the key of
a probability it is text (`label_text`): text as it is, a number or true/false as JSON writes it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# How far a row's probabilities may sum from 1: a few classes rounded to two decimals still pass.
SUM_TOLERANCE = 0.02


class MalformedAnswer(ValueError):
    """An answer that is not the shape above; the message says what is wrong with it."""


@dataclass(frozen=True)
class Answer:
    """One answer, checked: a prediction per row and, from a classifier, its probabilities."""

    predictions: tuple[Any, ...]
    probabilities: tuple[dict[str, float], ...] = ()

    @property
    def classification(self) -> bool:
        return bool(self.probabilities)


def json_value(value: Any) -> Any:
    """A label as JSON takes it: numpy's scalars as Python's bool, int, float or str."""
    return value.item() if isinstance(value, np.generic) else value


def label_text(label: Any) -> str:
    """A label as the key of its probability: text as it is, a number or true/false as JSON."""
    value = json_value(label)
    return value if isinstance(value, str) else json.dumps(value)


def regression_answer(predictions: Iterable[Any]) -> dict[str, Any]:
    """The answer of a regressor: its predictions as numbers."""
    return {"predictions": [float(value) for value in predictions]}


def classification_answer(
    labels: Iterable[Any], classes: Sequence[Any], probabilities: Any
) -> dict[str, Any]:
    """The answer of a classifier: the labels, and each row's probabilities (a rows x classes
    array, columns in the order of `classes`) keyed by the label text."""
    keys = [label_text(label) for label in classes]
    return {
        "predictions": [json_value(label) for label in labels],
        "probabilities": [
            dict(zip(keys, row, strict=True)) for row in np.asarray(probabilities).tolist()
        ],
    }


def read_answer(payload: Any, rows: int | None = None) -> Answer:
    """The answer in a parsed JSON body, for `rows` rows when given; MalformedAnswer says what is
    wrong with it. Without probabilities every prediction must be a number (a regressor's
    answer); a bare list is taken as the predictions, as older MLflow servers answer."""
    if isinstance(payload, dict):
        predictions, probabilities = payload.get("predictions"), payload.get("probabilities")
    else:
        predictions, probabilities = payload, None
    if not isinstance(predictions, list):
        raise MalformedAnswer("no list of predictions")
    if rows is not None and len(predictions) != rows:
        noun = "prediction" if len(predictions) == 1 else "predictions"
        raise MalformedAnswer(f"{len(predictions)} {noun} for {rows} rows")
    if probabilities is None:
        for number, value in enumerate(predictions):
            if not _is_number(value):
                raise MalformedAnswer(
                    f"prediction {number} is {_shown(value)}, not a number, and there are no "
                    "probabilities to make it a classifier's label"
                )
        return Answer(tuple(predictions))
    _check_probabilities(predictions, probabilities)
    return Answer(tuple(predictions), tuple(probabilities))


def _check_probabilities(predictions: list[Any], probabilities: Any) -> None:
    if not isinstance(probabilities, list) or len(probabilities) != len(predictions):
        raise MalformedAnswer("'probabilities' is not a list with one entry per prediction")
    for number, (label, shares) in enumerate(zip(predictions, probabilities, strict=True)):
        if isinstance(label, list | dict) or label is None:
            raise MalformedAnswer(f"prediction {number} is {_shown(label)}, not a label")
        if not isinstance(shares, dict) or not shares:
            raise MalformedAnswer(f"probabilities {number} is {_shown(shares)}, not label: number")
        if not all(_is_number(p) and 0.0 <= p <= 1.0 for p in shares.values()):
            raise MalformedAnswer(f"probabilities {number} holds values outside 0 to 1")
        total = sum(shares.values())
        if abs(total - 1.0) > SUM_TOLERANCE:
            raise MalformedAnswer(f"probabilities {number} sum to {total:.3g}, not 1")
        if label_text(label) not in shares:
            raise MalformedAnswer(f"probabilities {number} lack the predicted label {label!r}")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # a whole number with hundreds of digits
        return False


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
