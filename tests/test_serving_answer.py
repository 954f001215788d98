"""The scoring answer: built from a model's outputs, and checked by the clients that read it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from diabetes_model.serving.answer import (
    Answer,
    MalformedAnswer,
    classification_answer,
    label_text,
    read_answer,
    regression_answer,
)


def test_a_regressor_answers_numbers_only():
    answer = regression_answer(np.array([151.25, 98.5]))
    assert answer == {"predictions": [151.25, 98.5]}
    assert [type(p) for p in answer["predictions"]] == [float, float]


@pytest.mark.parametrize(
    ("classes", "labels", "keys"),
    [
        (
            np.array(["setosa", "versicolor"], dtype=object),
            ["setosa", "versicolor"],
            ["setosa", "versicolor"],
        ),
        (np.array([0, 2]), [0, 2], ["0", "2"]),
        (np.array([False, True]), [False, True], ["false", "true"]),
    ],
    ids=["text", "whole numbers", "true/false"],
)
def test_a_classifier_answers_json_labels_and_probabilities_keyed_by_label_text(
    classes, labels, keys
):
    answer = classification_answer(classes[[0, 1]], classes, np.array([[0.9, 0.1], [0.25, 0.75]]))
    assert json.loads(json.dumps(answer)) == answer  # JSON-native throughout
    assert answer["predictions"] == labels
    assert [type(p) for p in answer["predictions"]] == [type(v) for v in labels]
    first, second = keys
    assert answer["probabilities"] == [{first: 0.9, second: 0.1}, {first: 0.25, second: 0.75}]
    assert read_answer(answer, rows=2) == Answer(tuple(labels), tuple(answer["probabilities"]))


def test_label_text_is_text_as_it_is_and_json_for_the_rest():
    assert [
        label_text(v) for v in ("Gentoo", np.str_("a b"), np.int64(3), np.bool_(True), 1.5)
    ] == [
        "Gentoo",
        "a b",
        "3",
        "true",
        "1.5",
    ]


PROBABILITIES = [{"a": 0.8, "b": 0.2}]
MALFORMED = {
    "no predictions": ({"message": "x"}, "no list of predictions"),
    "too few": ({"predictions": [1.0]}, "1 prediction for 2 rows"),
    "text without probabilities": (
        {"predictions": ["a", "b"]},
        'prediction 0 is "a", not a number',
    ),
    "not finite": ({"predictions": [1.0, float("inf")]}, "prediction 1 is Infinity, not a number"),
    "a boolean for a number": ({"predictions": [True, 1.0]}, "prediction 0 is true"),
    "probabilities per row missing": (
        {"predictions": ["a", "b"], "probabilities": PROBABILITIES},
        "one entry per prediction",
    ),
    "not summing to 1": (
        {"predictions": ["a", "a"], "probabilities": [{"a": 0.8, "b": 0.5}] * 2},
        "probabilities 0 sum to 1.3, not 1",
    ),
    "outside 0 to 1": (
        {"predictions": ["a", "a"], "probabilities": [{"a": 1.5, "b": -0.5}] * 2},
        "outside 0 to 1",
    ),
    "a label without its probability": (
        {"predictions": ["a", "c"], "probabilities": PROBABILITIES * 2},
        "probabilities 1 lack the predicted label 'c'",
    ),
    "a list for a label": (
        {"predictions": [["a"], "a"], "probabilities": PROBABILITIES * 2},
        'prediction 0 is ["a"], not a label',
    ),
    "not label: number": (
        {"predictions": ["a", "a"], "probabilities": [[0.8, 0.2]] * 2},
        "probabilities 0 is [0.8, 0.2], not label: number",
    ),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_a_malformed_answer_is_refused_with_what_is_wrong(case):
    payload, says = MALFORMED[case]
    with pytest.raises(MalformedAnswer) as caught:
        read_answer(payload, rows=2)
    assert says in str(caught.value), str(caught.value)


def test_probabilities_rounded_to_two_decimals_still_sum_to_one():
    rounded = {"predictions": ["a"], "probabilities": [{"a": 0.33, "b": 0.33, "c": 0.33}]}
    assert read_answer(rounded).classification


def test_a_bare_list_of_numbers_is_read_as_predictions():
    assert read_answer([1.0, 2]) == Answer((1.0, 2))
