"""The Scorer that score.py holds, in-process, on classifiers: labels and probabilities, text and
true/false columns with gaps, what goes to the input log and the data collector, and drift over
that log."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from serving_support import CLASSIFIERS, PENGUIN_COLUMNS, WRONG_PENGUIN_ROWS, classifier_dir

from diabetes_model.core.drift import ALPHA, PSI_THRESHOLD
from diabetes_model.drift import logged_inputs, run_drift
from diabetes_model.serving.answer import label_text, read_answer
from diabetes_model.serving.contract import example_request
from diabetes_model.serving.input_log import RollingJsonl, read_records
from diabetes_model.serving.scorer import AzureDataCollector, Scorer, ScorerConfig
from diabetes_model.settings import Settings


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("classifiers")


def scorer(root, name: str, input_log=None) -> Scorer:
    return Scorer.load(ScorerConfig(model_dir=classifier_dir(name, root), input_log=input_log))


def penguin_request(rows: list[list[object]]) -> str:
    return json.dumps({"input_data": {"columns": PENGUIN_COLUMNS, "data": rows}})


def training_typed(rows: list[list[object]]) -> pd.DataFrame:
    """The rows as the pipeline was trained on them: objects with NaN for a missing category."""
    frame = pd.DataFrame(rows, columns=PENGUIN_COLUMNS).astype({"island": object, "male": object})
    frame[["bill_mm", "mass_g"]] = frame[["bill_mm", "mass_g"]].astype(float)
    return frame.where(frame.notna(), np.nan)


@pytest.mark.parametrize(
    ("name", "label_type"),
    [("binary", bool), ("multiclass", int), ("penguins", str)],
)
def test_a_classifier_answers_the_pipelines_labels_and_probabilities(root, name, label_type):
    loaded = scorer(root, name)
    features = CLASSIFIERS[name].features(8)
    answer = loaded.score(json.dumps(example_request(features)))
    pipeline = loaded.model
    assert answer["predictions"] == pipeline.predict(features).tolist()
    assert {type(label) for label in answer["predictions"]} == {label_type}
    keys = [label_text(label) for label in pipeline.classes_]
    assert [list(row) for row in answer["probabilities"]] == [keys] * 8
    expected = pipeline.predict_proba(features)
    assert [list(row.values()) for row in answer["probabilities"]] == pytest.approx(expected)
    assert read_answer(json.loads(json.dumps(answer)), rows=8).classification


ODD_ROWS = {
    "unseen category": ["Atlantis", 38.0, 3600.0, True],
    "null category": [None, 38.0, 3600.0, True],
    "null boolean": ["Dream", 48.0, 3700.0, None],
    "null number": ["Biscoe", None, 5100.0, False],
    "every value null": [None, None, None, None],
}


def test_gaps_and_unseen_categories_get_the_pipelines_prediction(root):
    loaded = scorer(root, "penguins")
    rows = list(ODD_ROWS.values())
    answer = loaded.score(penguin_request(rows))
    assert isinstance(answer, dict), answer.get_data()
    assert answer["predictions"] == loaded.model.predict(training_typed(rows)).tolist()
    by_case = dict(zip(ODD_ROWS, answer["probabilities"], strict=True))
    # The encoder takes a category training never saw for a missing one.
    assert by_case["unseen category"] == by_case["null category"]


def test_a_boolean_column_with_every_value_missing_is_scored(root):
    """MLflow's own schema check refuses this (it reads the NaNs as a float column)."""
    loaded = scorer(root, "penguins")
    rows = [["Dream", 38.0, 3600.0, None], ["Biscoe", 48.0, 5000.0, None]]
    answer = loaded.score(penguin_request(rows))
    assert isinstance(answer, dict), answer.get_data()
    assert answer["predictions"] == loaded.model.predict(training_typed(rows)).tolist()


@WRONG_PENGUIN_ROWS
def test_a_wrong_type_or_unknown_column_is_422_naming_it(root, columns, row, says):
    answer = scorer(root, "penguins").score(
        json.dumps({"input_data": {"columns": columns, "data": [row]}})
    )
    assert answer.status_code == 422
    assert says in json.loads(answer.get_data())["message"]


def test_the_log_holds_categories_as_they_came_and_the_label_as_the_prediction(root, tmp_path):
    loaded = scorer(root, "penguins", input_log=tmp_path / "in.jsonl")
    rows = list(ODD_ROWS.values())[:3]
    answer = loaded.score(penguin_request(rows), request_id="r-9")
    records = list(read_records(RollingJsonl(tmp_path / "in.jsonl")))
    assert [r["inputs"] for r in records] == [
        {"island": "Atlantis", "bill_mm": 38.0, "mass_g": 3600.0, "male": True},
        {"island": None, "bill_mm": 38.0, "mass_g": 3600.0, "male": True},
        {"island": "Dream", "bill_mm": 48.0, "mass_g": 3700.0, "male": None},
    ]
    assert [r["prediction"] for r in records] == answer["predictions"]
    assert {type(r["prediction"]) for r in records} == {str}


def test_the_data_collector_gets_categories_as_they_came_and_the_labels(root, monkeypatch):
    from azureml.ai.monitoring import init as mdc
    from azureml.ai.monitoring.queue import get_queue

    monkeypatch.setenv("AZUREML_MDC_ENABLED", "true")
    monkeypatch.setenv("AZUREML_MDC_WORKER_DISABLED", "true")  # no sender thread: keep the queue
    mdc.teardown()
    try:
        loaded = scorer(root, "penguins")
        collecting = Scorer(loaded.model, loaded.columns, sinks=[AzureDataCollector()])
        answer = collecting.score(penguin_request(list(ODD_ROWS.values())[:3]))
        queue = get_queue()
        payloads = [queue.dequeue()[0] for _ in range(queue.length())]
    finally:
        mdc.teardown()
    inputs, outputs = (json.loads(p.content()) for p in payloads)
    assert [(row["island"], row["male"]) for row in inputs] == [
        ("Atlantis", True),
        (None, True),
        ("Dream", None),
    ]
    assert [row["prediction"] for row in outputs] == answer["predictions"]


@pytest.mark.parametrize(("new_island", "drifted"), [(None, []), ("Atlantis", ["island"])])
def test_drift_reads_back_what_serving_logged(root, tmp_path, new_island, drifted):
    """Served rows of the training table, half of them from an island training never saw or not;
    `invoke drift` over the served log finds exactly that."""
    example = CLASSIFIERS["penguins"]
    data = tmp_path / "penguins.csv"
    example.table().to_csv(data, index=False)
    log = tmp_path / "inputs.jsonl"
    loaded = scorer(root, "penguins", input_log=log)
    recent = example.features().sample(120, random_state=5)
    if new_island:
        recent.iloc[::2, recent.columns.get_loc("island")] = new_island
    for start in range(0, len(recent), 20):
        assert isinstance(
            loaded.score(json.dumps(example_request(recent[start : start + 20]))), dict
        )

    run = run_drift(
        settings=Settings(data_path=str(data), target=example.target),
        current=logged_inputs(log),
        source=str(log),
        report_dir=tmp_path / "report",
        psi_threshold=PSI_THRESHOLD,
        alpha=ALPHA,
    )
    assert run.current_rows == 120
    assert run.result.drifted == drifted
    by_name = {f.feature: f for f in run.result.features}
    assert by_name["male"].kind == "categorical" and by_name["male"].new_categories == ()
    assert by_name["island"].new_categories == ((new_island,) if new_island else ())
