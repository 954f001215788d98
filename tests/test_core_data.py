"""The checks a training table must pass before anything is fitted."""

import numpy as np
import pandas as pd
import pytest

from diabetes_model.core.data import MIN_ROWS, split_xy, validate_frame
from diabetes_model.core.schema import infer_schema
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
    validate_frame(table(), "target")


def test_it_refuses_a_header_without_rows():
    with pytest.raises(UserError, match=r"has a header but no rows"):
        validate_frame(table(0), "target")


def test_it_refuses_a_table_without_the_target_and_names_the_setting_to_fix():
    with pytest.raises(UserError, match=r"no target column 'target'.*set project\.target"):
        validate_frame(table().drop(columns=["target"]), "target")


@pytest.mark.parametrize(("separator", "named"), [(";", "';'"), ("\t", "tabs"), ("|", "'|'")])
def test_a_table_not_separated_by_commas_is_named_as_such(tmp_path, separator, named):
    from diabetes_model.tables import load_dataset

    path = tmp_path / "european.csv"
    table().to_csv(path, sep=separator, index=False, decimal=",")
    with pytest.raises(UserError) as refused:
        load_dataset(path, "target")
    assert str(refused.value) == (
        f"{path} reads as one column: its values are separated by {named}, not commas; "
        "save it as a comma-separated CSV (decimal points, not commas), or as Parquet"
    )


def test_a_table_in_another_encoding_or_a_workbook_is_named_as_such(tmp_path):
    from diabetes_model.tables import load_dataset

    latin = tmp_path / "latin.csv"
    latin.write_bytes("Größe,target\n1,2\n".encode("latin-1"))
    with pytest.raises(UserError, match=r"latin\.csv is not UTF-8 text \(.*\); save it as UTF-8"):
        load_dataset(latin, "target")
    workbook = tmp_path / "table.xlsx"
    workbook.write_bytes(b"PK\x03\x04 a zip, as a workbook is")
    with pytest.raises(UserError, match=r"table\.xlsx is a spreadsheet workbook, .* as CSV UTF-8"):
        load_dataset(workbook, "target")


def test_it_refuses_duplicate_column_names_as_the_file_has_them():
    frame = table().rename(columns={"bmi": "age.1"})  # what pandas makes of a second "age"
    with pytest.raises(UserError, match=r"duplicate column names \(age\)"):
        validate_frame(frame, "target", header=["age", "age", "target"])


def test_missing_feature_values_are_accepted_for_the_pipeline_to_impute():
    ages = [np.nan] * 5 + list(range(15))
    validate_frame(table(age=ages), "target")


def test_it_refuses_rows_without_a_target_value():
    targets = [np.nan, np.nan] + [100.0] * 18
    with pytest.raises(UserError, match=r"2 row.*no 'target' value"):
        validate_frame(table(target=targets), "target")


def test_it_refuses_too_few_rows_to_hold_out_a_test_set():
    with pytest.raises(UserError, match=f"at least {MIN_ROWS}"):
        validate_frame(table(MIN_ROWS - 1), "target")


def test_it_refuses_a_table_with_only_the_target():
    with pytest.raises(UserError, match=r"only the target"):
        validate_frame(table()[["target"]], "target")


def test_split_gives_float_numbers_and_text_categories_without_the_target():
    frame = table(age=list(range(20)), island=["Biscoe", None] * 10, flag=[True, False] * 10)
    features, target = split_xy(frame, infer_schema(frame, "target", ["bmi", "island", "flag"]))
    assert list(features.columns) == ["bmi", "island", "flag"]  # the configured order
    assert features["bmi"].dtype == "float64"
    assert features["island"].tolist()[:2] == ["Biscoe", features["island"][1]]
    assert np.isnan(features["island"][1])  # one kind of missing value: NaN, never None
    assert features["flag"].tolist()[:2] == [True, False]
    assert target.name == "target" and target.dtype == "float64"


def test_it_refuses_an_infinite_target_naming_the_row():
    with pytest.raises(UserError, match=r"target 'target' .* infinite value \(inf in data row 3\)"):
        validate_frame(table(target=[1.0, 2.0, np.inf] + [3.0] * 17), "target")
