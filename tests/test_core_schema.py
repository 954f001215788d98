"""What training makes of a table: the task, each feature's kind, the columns it leaves out, and
the tables it refuses, each in one line that names the column and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from diabetes_model.core.columns import ALL_COLUMNS, NO_COLUMNS, decode_columns, encode_columns
from diabetes_model.core.schema import infer_schema
from diabetes_model.errors import UserError

ROWS = 40


def table(**columns) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    base = {"x": rng.normal(size=ROWS), "target": rng.normal(100, 10, ROWS)}
    return pd.DataFrame({**base, **columns})


def kinds(schema) -> dict[str, str]:
    return {f.name: f.kind for f in schema.features}


@pytest.mark.parametrize(
    ("target", "task"),
    [
        (np.random.default_rng(1).normal(size=ROWS), "regression"),
        ([0.0, 1.0] * (ROWS // 2), "classification"),  # whole numbers, few values
        (list(range(ROWS)), "regression"),  # whole numbers, many values
        (["Adelie", "Gentoo"] * (ROWS // 2), "classification"),
        ([True, False] * (ROWS // 2), "classification"),
        (["yes", "no", "maybe", "no"] * (ROWS // 4), "classification"),
    ],
    ids=["floats", "two-whole-numbers", "many-whole-numbers", "text", "booleans", "three-classes"],
)
def test_auto_picks_the_task_from_the_target_and_says_why(target, task):
    schema = infer_schema(table(target=target), "target")
    assert schema.task == task
    assert schema.task_reason.startswith("auto: target 'target' holds ")


def test_the_task_setting_wins_but_text_cannot_be_regressed():
    numbers = table(target=[1.0, 2.0] * (ROWS // 2))
    assert infer_schema(numbers, "target", task="regression").task == "regression"
    with pytest.raises(UserError, match=r"target 'target'.*holds text.*regression needs numbers"):
        infer_schema(table(target=["a", "b"] * (ROWS // 2)), "target", task="regression")
    with pytest.raises(UserError, match=r"project\.task is 'guess'"):
        infer_schema(numbers, "target", task="guess")


def test_columns_are_numeric_boolean_or_categorical_each_with_missing_values():
    frame = table(
        island=(["Biscoe", "Dream", None, "Torgersen"] * ROWS)[:ROWS],
        tagged=([True, None, False] * ROWS)[:ROWS],
        mass=np.where(np.arange(ROWS) % 5 == 0, np.nan, np.arange(ROWS) * 3.5),
    )
    schema = infer_schema(frame, "target")
    assert kinds(schema) == {
        "x": "numeric",
        "island": "categorical",
        "tagged": "boolean",
        "mass": "numeric",
    }
    assert schema.dropped == ()


def test_ids_and_free_text_are_left_out_with_a_reason_not_expanded():
    frame = table(
        patient_id=np.arange(1000, 1000 + ROWS),
        row=np.arange(ROWS),
        email=[f"user{i}@example.org" for i in range(ROWS)],
    )
    schema = infer_schema(frame, "target")
    assert schema.names == ["x"]
    assert dict(schema.dropped) == {
        "patient_id": "an id (a whole number unique per row, or named like one)",
        "row": "an id (a whole number unique per row, or named like one)",
        "email": "unique per row, an id or free text",
    }
    assert "warning: column 'email' left out: unique per row, an id or free text" in (
        schema.describe()
    )


def test_configured_features_are_exactly_the_ones_trained_on_in_their_order():
    frame = table(patient_id=np.arange(ROWS), zzz=np.ones(ROWS), b=np.zeros(ROWS))
    schema = infer_schema(frame, "target", features=["b", "x"])
    assert schema.names == ["b", "x"]
    assert dict(schema.dropped) == {
        "patient_id": "not in project.features",
        "zzz": "not in project.features",
    }


def test_a_configured_feature_the_table_lacks_is_one_line():
    with pytest.raises(UserError, match=r"^data\.csv lacks the feature column\(s\) s6; fix the"):
        infer_schema(table(), "target", features=["x", "s6"], source="data.csv")


def test_ignored_columns_stay_out_and_an_unknown_one_is_named():
    schema = infer_schema(table(leak=np.ones(ROWS)), "target", ignore=["leak"])
    assert schema.names == ["x"]
    with pytest.raises(UserError, match=r"project\.ignore names nope"):
        infer_schema(table(), "target", ignore=["nope"])


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ([np.nan] * ROWS, r"column 'bad' in data\.csv has no values; fill it, or list it"),
        (
            ["2024-01-05", "2024-02-11"] * (ROWS // 2),
            r"column 'bad' .* holds dates \(e\.g\. '2024-01-05'\)",
        ),
        (
            ["1.5", "abc", "2", "3"] * (ROWS // 4),
            r"mixes numbers and text \(e\.g\. '1\.5' and 'abc'\)",
        ),
        ([1.0, np.inf] * (ROWS // 2), r"infinite value \(inf in data row 2\)"),
        (["1e400", "2"] * (ROWS // 2), r"infinite value \('1e400' in data row 1\)"),
    ],
    ids=["all-empty", "dates", "mixed", "inf", "1e400-as-text"],
)
def test_columns_training_cannot_use_are_refused_in_one_line(column, message):
    with pytest.raises(UserError, match=message):
        infer_schema(table(bad=column), "target", source="data.csv")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (["yes"] * ROWS, r"has one class \('yes'\); a classifier needs at least two"),
        ([f"comment {i}" for i in range(ROWS - 1)] + ["x"], None),
        (["a"] * (ROWS - 1) + ["b"], r"class 'b' of target 'target'.*has 1 row"),
    ],
    ids=["one-class", "free-text", "tiny-class"],
)
def test_classification_targets_that_cannot_be_learned_are_refused(target, message):
    frame = table(target=target)
    if message is None:  # hundreds of "classes": free text, not a classification target
        frame = pd.concat([frame] * 4, ignore_index=True)
        frame["target"] = [f"comment {i}" for i in range(len(frame))]
        message = r"has 160 different values, more than the 100 classes"
    with pytest.raises(UserError, match=message):
        infer_schema(frame, "target")


def test_classes_are_the_sorted_labels():
    schema = infer_schema(table(target=["b", "a", "c", "a"] * (ROWS // 4)), "target")
    assert schema.classes == ("a", "b", "c")


@pytest.mark.parametrize(
    "names",
    [(), ("age", "sex"), ("petal length (cm)", "a,b", "100%"), ("all",), ("none", "x y")],
)
def test_column_lists_travel_as_one_shell_word_and_come_back_whole(names):
    word = encode_columns(names, ALL_COLUMNS)
    assert (
        word.replace("%", "")
        .replace(",", "")
        .replace("_", "")
        .replace(".", "")
        .replace("-", "")
        .isalnum()
    )
    assert decode_columns(word) == tuple(names)
    assert decode_columns(encode_columns(names, NO_COLUMNS)) == tuple(names)
