"""`invoke drift`'s edge: the input log and training CSV in, a report with a plot out."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from diabetes_model.core.drift import ALPHA, PSI_THRESHOLD
from diabetes_model.drift import logged_inputs, run_drift
from diabetes_model.errors import UserError
from diabetes_model.serving.input_log import RollingJsonl
from diabetes_model.settings import Settings

FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def log_rows(path, frame: pd.DataFrame) -> None:
    RollingJsonl(path).append(
        {"time": "t", "request_id": "", "model": "m/1", "inputs": row, "prediction": 1.0}
        for row in frame.to_dict(orient="records")
    )


def drift(data, tmp_path, last=None, **settings):
    """`invoke drift` on the log under tmp_path against the training table `data`."""
    log = tmp_path / "inputs.jsonl"
    return run_drift(
        settings=Settings(data_path=str(data), features=tuple(FEATURES), **settings),
        current=logged_inputs(log, last),
        source=str(log),
        report_dir=tmp_path / "report",
        psi_threshold=PSI_THRESHOLD,
        alpha=ALPHA,
    )


def test_inputs_like_the_training_data_show_no_drift(diabetes_csv, tmp_path):
    training = pd.read_csv(diabetes_csv)
    log_rows(tmp_path / "inputs.jsonl", training[FEATURES].sample(200, random_state=1))
    run = drift(diabetes_csv, tmp_path)
    assert run.result.drifted == []
    assert run.summary.startswith("no drift over 200 recent rows")


def test_heavier_patients_show_bmi_drift_and_the_report_says_so(diabetes_csv, tmp_path):
    training = pd.read_csv(diabetes_csv)
    recent = training[FEATURES].sample(200, random_state=1)
    recent["bmi"] = recent["bmi"] + 6  # six points of BMI on everyone
    log_rows(tmp_path / "inputs.jsonl", recent)
    run = drift(diabetes_csv, tmp_path)
    assert run.result.drifted == ["bmi"]
    report = tmp_path / "report"
    assert json.loads((report / "drift.json").read_text())["drifted"] == ["bmi"]
    markdown = (report / "drift.md").read_text()
    assert "**Drift** in bmi" in markdown and "| bmi |" in markdown
    assert (report / "drift.png").read_bytes()[:4] == b"\x89PNG"


def test_only_the_last_rows_are_judged_when_asked(diabetes_csv, tmp_path):
    training = pd.read_csv(diabetes_csv)
    old = training[FEATURES].sample(200, random_state=1)
    shifted = old.assign(bmi=old["bmi"] + 6)
    log_rows(tmp_path / "inputs.jsonl", shifted)
    log_rows(tmp_path / "inputs.jsonl", old)
    assert drift(diabetes_csv, tmp_path, last=200).result.drifted == []
    assert drift(diabetes_csv, tmp_path).result.drifted == ["bmi"]


def test_an_empty_log_says_how_to_get_inputs(diabetes_csv, tmp_path):
    with pytest.raises(UserError, match=r"no scored inputs .*`invoke serve`"):
        drift(diabetes_csv, tmp_path)
    assert not (tmp_path / "report").exists()


def test_too_few_rows_are_not_judged(diabetes_csv, tmp_path):
    log_rows(tmp_path / "inputs.jsonl", pd.read_csv(diabetes_csv)[FEATURES].head(5))
    with pytest.raises(UserError, match=r"only 5 scored rows .* at least 30"):
        drift(diabetes_csv, tmp_path)


def test_a_log_from_another_model_is_refused(diabetes_csv, tmp_path):
    log_rows(tmp_path / "inputs.jsonl", pd.DataFrame({"height": [1.0] * 40}))
    with pytest.raises(UserError, match="no values for age"):
        drift(diabetes_csv, tmp_path)


def test_numbers_no_float_can_hold_and_lines_that_are_not_utf8_do_not_stop_it(
    diabetes_csv, tmp_path
):
    training = pd.read_csv(diabetes_csv)
    log_rows(tmp_path / "inputs.jsonl", training[FEATURES].sample(60, random_state=1))
    with (tmp_path / "inputs.jsonl").open("ab") as log:
        log.write(b'{"inputs": {"age": 1e999, "sex": 1, "bmi": 25}}\n')  # json reads inf
        log.write(b'{"inputs": {"age": "\xff\xfe"}}\n')  # not UTF-8
    run = drift(diabetes_csv, tmp_path)
    assert run.current_rows == 61  # the infinite age counts as a missing value
    assert run.result.drifted == []


def test_a_table_with_categories_drifts_on_a_category_and_names_the_new_one(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    table = pd.DataFrame(
        {
            "island": rng.choice(["Biscoe", "Dream", "Torgersen"], n),
            "mass": rng.normal(4000, 400, n),
            "male": rng.choice([True, False], n),
            "species": rng.choice(["Adelie", "Gentoo"], n),
        }
    )
    data = tmp_path / "penguins.csv"
    table.to_csv(data, index=False)
    recent = table.drop(columns=["species"]).sample(120, random_state=2)
    recent["island"] = ["Atlantis"] * 60 + ["Biscoe"] * 60
    log_rows(tmp_path / "inputs.jsonl", recent)
    settings = {"target": "species"}
    run = run_drift(
        settings=Settings(data_path=str(data), **settings),
        current=logged_inputs(tmp_path / "inputs.jsonl"),
        source="log",
        report_dir=tmp_path / "report",
        psi_threshold=PSI_THRESHOLD,
        alpha=ALPHA,
    )
    assert run.result.drifted == ["island"]
    markdown = (tmp_path / "report" / "drift.md").read_text()
    assert "| island | categorical |" in markdown and "Atlantis" in markdown
    assert "| male | categorical |" in markdown and "| mass | numeric |" in markdown
