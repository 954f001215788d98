"""The checks a training table must pass before anything is fitted."""

import numpy as np
import pandas as pd
import pytest

from diabetes_model.core.data import MIN_ROWS, split_xy, validate_frame
from diabetes_model.errors import UserError


def table(rows: int = 20, **overrides) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "age": rng.normal(50, 10, rows),
            "bmi": rng.normal(25, 4, rows),
            "target": rng.normal(150, 50, rows),
        }
    )
    for name, values in overrides.items():
        frame[name] = values
    return frame


def test_a_complete_numeric_table_passes():
    validate_frame(table(), "target", ["age", "bmi"])


def test_it_refuses_an_empty_table():
    with pytest.raises(UserError, match=r"no rows"):
        validate_frame(table(0), "target")


def test_it_refuses_a_table_without_the_target_and_names_the_fix():
    with pytest.raises(UserError, match=r"no target column 'target'.*--target"):
        validate_frame(table().drop(columns=["target"]), "target")


def test_it_names_the_expected_columns_that_are_missing():
    with pytest.raises(UserError, match=r"lacks expected column.*s1, s2"):
        validate_frame(table(), "target", ["age", "s1", "s2"])


def test_it_refuses_a_non_numeric_column_with_an_example_value():
    with pytest.raises(UserError, match=r"'sex'.*not numeric.*'F'"):
        validate_frame(table(sex=["F", "M"] * 10), "target")


def test_missing_feature_values_are_accepted_for_the_pipeline_to_impute():
    ages = [np.nan] * 5 + list(range(15))
    validate_frame(table(age=ages), "target")


def test_it_refuses_rows_without_a_target_value():
    targets = [np.nan, np.nan] + [100.0] * 18
    with pytest.raises(UserError, match=r"2 row.*no 'target' value"):
        validate_frame(table(target=targets), "target")


def test_it_refuses_a_feature_column_with_no_values():
    with pytest.raises(UserError, match=r"'bmi'.*has no values"):
        validate_frame(table(bmi=[np.nan] * 20), "target")


def test_it_refuses_too_few_rows_to_hold_out_a_test_set():
    with pytest.raises(UserError, match=f"at least {MIN_ROWS}"):
        validate_frame(table(MIN_ROWS - 1), "target")


def test_it_refuses_a_table_with_only_the_target():
    with pytest.raises(UserError, match=r"only the target"):
        validate_frame(table()[["target"]], "target")


def test_split_gives_float_features_without_the_target():
    frame = table(age=list(range(20)))
    features, target = split_xy(frame, "target")
    assert list(features.columns) == ["age", "bmi"]
    assert (features.dtypes == "float64").all()
    assert target.name == "target"
