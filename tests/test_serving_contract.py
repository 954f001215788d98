"""The scoring request contract, checked without a server or a model."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from diabetes_model.serving.contract import (
    Column,
    RequestError,
    check_content_type,
    columns_from_signature,
    example_request,
    parse_request,
)

COLUMNS = (Column("age", "double"), Column("bmi", "double"), Column("visits", "long"))


def body(payload: object) -> str:
    return json.dumps(payload)


def refused(raw: str | bytes, max_rows: int = 10) -> RequestError:
    with pytest.raises(RequestError) as caught:
        parse_request(raw, COLUMNS, max_rows=max_rows)
    return caught.value


def test_split_rows_become_a_frame_in_signature_order_and_types():
    frame = parse_request(
        body({"input_data": {"columns": ["visits", "bmi", "age"], "data": [[2, 0.5, 40]]}}), COLUMNS
    )
    assert list(frame.columns) == ["age", "bmi", "visits"]
    assert frame.dtypes["age"] == "float64" and frame.dtypes["visits"] == "Int64"
    assert frame.iloc[0].tolist() == [40.0, 0.5, 2]


def test_mlflow_request_shapes_are_accepted_too():
    split = {"dataframe_split": {"columns": ["age", "bmi", "visits"], "data": [[1, 2, 3]]}}
    records = {"dataframe_records": [{"age": 1, "bmi": 2, "visits": 3}]}
    azure_records = {"input_data": [{"age": 1, "bmi": 2, "visits": 3}]}
    frames = [parse_request(body(p), COLUMNS) for p in (split, records, azure_records)]
    assert all(frame.equals(frames[0]) for frame in frames)


def test_null_is_a_missing_number_for_the_imputer():
    frame = parse_request(
        body({"dataframe_records": [{"age": None, "bmi": 1, "visits": 1}]}), COLUMNS
    )
    assert pd.isna(frame.loc[0, "age"])


def test_example_request_round_trips():
    frame = pd.DataFrame({"age": [1.0, 2.0], "bmi": [3.0, 4.0], "visits": [5, 6]})
    assert (
        parse_request(body(example_request(frame)), COLUMNS)
        .astype(float)
        .equals(frame.astype(float))
    )


@pytest.mark.parametrize(
    ("raw", "status", "says"),
    [
        ("{not json", 400, "not valid JSON"),
        ("", 400, "body is empty"),
        (b"\xff\xfe", 400, "not UTF-8"),
        ("[1, 2]", 400, "must be a JSON object"),
        (body({"rows": []}), 400, "exactly one of 'input_data'"),
        (body({"input_data": {"columns": ["age"]}}), 400, "'columns' (names) and 'data'"),
        (body({"input_data": {"columns": ["age"], "data": [1]}}), 400, "list of rows"),
        (
            body({"input_data": {"columns": ["age", "bmi"], "data": [[1]]}}),
            400,
            "row 0 has 1 values",
        ),
        (body({"dataframe_records": [{"age": 1}, {"bmi": 1}]}), 400, "row 0 lacks bmi"),
        (body({"input_data": {"columns": ["age"], "data": []}}), 400, "the batch is empty"),
        ('{"input_data": {"columns": ["age"], "data": [[NaN]]}}', 400, "NaN is not a JSON value"),
    ],
)
def test_malformed_requests_are_400_with_the_reason(raw, status, says):
    error = refused(raw)
    assert (error.status, says in error.message) == (status, True), error.message


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@pytest.mark.parametrize(
    "raw",
    [
        nested(5000),
        '{"input_data": ' + nested(5000) + "}",
        '{"input_data": {"columns": ["age"], "data": [[' + nested(5000) + "]]}}",
    ],
    ids=["whole body", "the table", "a value"],
)
def test_json_nested_thousands_deep_is_a_400_not_a_crash(raw):
    error = refused(raw)
    assert error.status == 400 and "nested too deeply" in error.message, error.message


def test_a_value_nested_around_the_parser_limit_is_refused_cleanly():
    """Whether the parser or the error message gives up first, the answer is a 4xx."""
    limit = sys.getrecursionlimit()
    for depth in range(limit - 120, limit + 5):
        raw = '{"input_data": {"columns": ["age", "bmi", "visits"], "data": [[1, 1, '
        error = refused(raw + nested(depth) + "]]}}")
        assert error.status in (400, 422), (depth, error.message)


def test_an_oversized_batch_is_413_and_names_the_limit():
    rows = [[1, 2, 3]] * 11
    error = refused(body({"input_data": {"columns": ["age", "bmi", "visits"], "data": rows}}))
    assert error.status == 413
    assert "11 rows" in error.message and "limit of 10" in error.message


def test_missing_and_unknown_columns_are_422_and_list_the_expected_ones():
    error = refused(body({"input_data": {"columns": ["age", "height"], "data": [[1, 2]]}}))
    assert error.status == 422
    assert "missing columns: bmi, visits" in error.message
    assert "unknown columns: height" in error.message
    assert "expects: age, bmi, visits" in error.message


def test_duplicate_columns_are_refused():
    error = refused(body({"input_data": {"columns": ["age", "age"], "data": [[1, 2]]}}))
    assert "duplicate columns: age" in error.message


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("abc", 'expected a number (double), got a string "abc"'),
        (True, "got a boolean true"),
        ([1], "got a list [1]"),
        ({"a": 1}, "got an object"),
    ],
)
def test_wrong_types_are_422_and_name_column_and_row(value, says):
    error = refused(body({"dataframe_records": [{"age": 1, "bmi": value, "visits": 1}]}))
    assert error.status == 422
    assert "column 'bmi' row 0" in error.message and says in error.message, error.message


def test_a_number_too_large_for_a_double_is_refused():
    error = refused('{"dataframe_records": [{"age": 1e400, "bmi": 1, "visits": 1}]}')
    assert error.status == 422 and "expected a finite number" in error.message


def test_a_fraction_is_not_a_whole_number():
    error = refused(body({"dataframe_records": [{"age": 1, "bmi": 1, "visits": 1.5}]}))
    assert "expected a whole number (long), got 1.5" in error.message


def test_many_type_errors_are_summarised():
    rows = [["x", "y", "z"]] * 4
    error = refused(body({"input_data": {"columns": ["age", "bmi", "visits"], "data": rows}}))
    assert error.message.count("column '") == 3 and "(and 9 more)" in error.message


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_json_content_types_pass(content_type):
    check_content_type(content_type)


@pytest.mark.parametrize("content_type", ["", "text/plain", "application/x-www-form-urlencoded"])
def test_other_content_types_are_415(content_type):
    with pytest.raises(RequestError) as caught:
        check_content_type(content_type)
    assert caught.value.status == 415 and "application/json" in caught.value.message


def test_signature_columns_come_from_mlflow_schema_json():
    spec = [{"type": "double", "name": "age", "required": True}, {"type": "long", "name": "n"}]
    assert columns_from_signature(spec) == (Column("age", "double"), Column("n", "long"))


@pytest.mark.parametrize("spec", [[], [{"type": "tensor"}], [{"name": "x", "type": "binary"}]])
def test_signatures_the_contract_cannot_check_are_refused(spec):
    with pytest.raises(ValueError, match="signature"):
        columns_from_signature(spec)


# The project's signatures: every column optional (a missing value allowed), categories as text.
MIXED = (
    Column("island", "string", required=False),
    Column("mass", "double", required=False),
    Column("male", "boolean", required=False),
)


def mixed(rows: list[list[object]]) -> str:
    return body({"input_data": {"columns": [c.name for c in MIXED], "data": rows}})


def test_text_and_booleans_become_python_objects_with_nan_for_a_missing_value():
    """As the pipeline was trained on them (core.data.features_frame): never pandas' NA, which
    breaks the encoder's comparisons, nor None, which the encoder takes for a category."""
    frame = parse_request(
        mixed([["Dream", 3600, True], [None, None, None], ["Biscoe", 4000, False]]), MIXED
    )
    assert frame.dtypes.to_dict() == {"island": object, "mass": "float64", "male": object}
    assert frame["island"].tolist()[::2] == ["Dream", "Biscoe"]
    assert [type(v) for v in frame["male"].tolist()[::2]] == [bool, bool]
    missing = frame.iloc[1].tolist()
    assert all(isinstance(v, float) and np.isnan(v) for v in missing), missing


def test_a_column_with_every_value_missing_stays_objects():
    frame = parse_request(mixed([[None, 1, None], [None, 2, None]]), MIXED)
    assert frame.dtypes.to_dict() == {"island": object, "mass": "float64", "male": object}
    assert frame["male"].isna().all() and frame["island"].isna().all()


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ([3, 1.0, True], "column 'island' row 0: expected a string, got int 3"),
        ([True, 1.0, True], "column 'island' row 0: expected a string, got a boolean true"),
        (
            ["Dream", 1.0, "yes"],
            "column 'male' row 0: expected true or false, got a string \"yes\"",
        ),
        (["Dream", 1.0, 1], "column 'male' row 0: expected true or false, got int 1"),
    ],
)
def test_a_wrong_type_in_a_text_or_boolean_column_is_422_naming_it(row, says):
    with pytest.raises(RequestError) as caught:
        parse_request(mixed([row]), MIXED)
    assert caught.value.status == 422 and says in caught.value.message, caught.value.message


def test_example_request_sends_a_missing_value_as_null_and_numpy_values_as_json():
    frame = pd.DataFrame(
        {
            "island": pd.Series(["Dream", np.nan], dtype=object),
            "mass": [3600.0, np.nan],
            "male": pd.Series([True, np.nan], dtype=object),
        }
    )
    request = example_request(frame)
    assert json.dumps(request, allow_nan=False)  # no NaN, which is not JSON
    assert request["input_data"]["data"] == [["Dream", 3600.0, True], [None, None, None]]
    assert parse_request(body(request), MIXED).equals(frame)
