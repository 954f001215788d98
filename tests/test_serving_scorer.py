"""The Scorer that score.py holds: configuration, model discovery and where inputs go, in-process."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from serving_support import feature_frame, registered_store

from diabetes_model.serving.contract import Column, example_request, parse_request
from diabetes_model.serving.input_log import RollingJsonl, read_records
from diabetes_model.serving.scorer import (
    AzureDataCollector,
    LocalInputLog,
    Scorer,
    ScorerConfig,
    find_mlflow_model,
)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return registered_store(tmp_path_factory.mktemp("store")).model_dir


def body(rows: int = 2, seed: int = 0) -> str:
    return json.dumps(example_request(feature_frame(rows, seed=seed)))


def test_the_configuration_comes_from_the_server_environment(tmp_path):
    config = ScorerConfig.from_environ(
        {
            "AZUREML_MODEL_DIR": str(tmp_path),
            "DIABETES_MODEL_MAX_ROWS": "50",
            "DIABETES_MODEL_INPUT_LOG": str(tmp_path / "in.jsonl"),
        }
    )
    assert (config.model_dir, config.max_rows, config.input_log) == (
        tmp_path,
        50,
        tmp_path / "in.jsonl",
    )
    assert ScorerConfig.from_environ({"AZUREML_MODEL_DIR": "m"}).input_log is None  # as in Azure


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({}, "AZUREML_MODEL_DIR is not set"),
        ({"AZUREML_MODEL_DIR": "m", "DIABETES_MODEL_MAX_ROWS": "0"}, "not a positive"),
        ({"AZUREML_MODEL_DIR": "m", "DIABETES_MODEL_MAX_ROWS": "lots"}, "not a positive"),
    ],
)
def test_a_bad_environment_stops_init_with_the_reason(environ, says):
    with pytest.raises(RuntimeError, match=says):
        ScorerConfig.from_environ(environ)


def test_the_model_is_found_where_azure_ml_mounts_it(model_dir, tmp_path):
    # $AZUREML_MODEL_DIR/<name>/<version>/<artifact folder>/MLmodel in a managed deployment.
    mounted = tmp_path / "azureml-models" / "diabetes-regressor" / "3"
    shutil.copytree(model_dir, mounted / "model")
    assert find_mlflow_model(mounted) == mounted / "model"
    assert find_mlflow_model(model_dir) == model_dir


def test_two_models_under_the_directory_are_refused(model_dir, tmp_path):
    shutil.copytree(model_dir, tmp_path / "a")
    shutil.copytree(model_dir, tmp_path / "b")
    with pytest.raises(RuntimeError, match="2 MLmodel files"):
        find_mlflow_model(tmp_path)


def test_only_post_is_scored_and_other_methods_are_told_to_post(model_dir):
    scorer = Scorer.load(ScorerConfig(model_dir=model_dir))
    answer = scorer.score(b"", content_type="", method="GET")
    assert answer.status_code == 405
    assert "POST" in answer.headers.getlist("Allow")
    assert json.loads(answer.get_data())["message"].startswith("GET is not allowed on /score")


def test_a_regressor_answers_numbers_only_as_it_always_has(model_dir):
    answer = Scorer.load(ScorerConfig(model_dir=model_dir)).score(body(3))
    assert list(answer) == ["predictions"]
    assert [type(p) for p in answer["predictions"]] == [float] * 3


def test_a_model_that_is_not_scikit_learn_stops_init_with_the_reason(tmp_path):
    import mlflow
    from mlflow.models import infer_signature

    class Constant(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input: pd.DataFrame, params=None) -> list[float]:
            return [1.0] * len(model_input)

    rows = feature_frame(3)
    mlflow.pyfunc.save_model(
        str(tmp_path / "model"),
        python_model=Constant(),
        signature=infer_signature(rows, [1.0] * 3),
        input_example=rows,
        pip_requirements=[],  # nothing to infer
    )
    with pytest.raises(RuntimeError, match=r"is not a scikit-learn model: score\.py serves models"):
        Scorer.load(ScorerConfig(model_dir=tmp_path))


def test_scored_rows_are_logged_with_the_model_version(model_dir, tmp_path):
    scorer = Scorer.load(ScorerConfig(model_dir=model_dir, input_log=tmp_path / "in.jsonl"))
    answer = scorer.score(body(3), request_id="r-1")
    records = list(read_records(RollingJsonl(tmp_path / "in.jsonl")))
    assert [r["prediction"] for r in records] == answer["predictions"]
    assert {r["model"] for r in records} == {"diabetes-regressor/1"}
    assert {r["request_id"] for r in records} == {"r-1"}


def test_many_threads_scoring_at_once_get_the_same_answers(model_dir, tmp_path):
    """The server's worker runs requests on several threads (serving/server.py): the model, the
    checks and the input log must give the same answers and whole lines under that."""
    scorer = Scorer.load(ScorerConfig(model_dir=model_dir, input_log=tmp_path / "in.jsonl"))
    bodies = [body(3, seed=seed) for seed in range(40)]
    one_at_a_time = [scorer.score(b)["predictions"] for b in bodies]

    with ThreadPoolExecutor(max_workers=8) as pool:
        at_once = list(pool.map(lambda b: scorer.score(b)["predictions"], bodies * 3))

    assert at_once == one_at_a_time * 3
    records = list(read_records(RollingJsonl(tmp_path / "in.jsonl")))
    assert len(records) == 4 * 40 * 3  # every row of every request, no torn or lost line


def test_the_log_holds_each_value_as_sent_and_a_missing_one_as_null(tmp_path):
    columns = (
        Column("age", "double"),
        Column("visits", "long", required=False),
        Column("smoker", "boolean", required=False),
        Column("name", "string", required=False),
    )
    request = {"dataframe_split": {"columns": [c.name for c in columns], "data": []}}
    request["dataframe_split"]["data"] = [[41.5, 3, True, "a"], [None, None, None, None]]
    frame = parse_request(json.dumps(request), columns)
    log = RollingJsonl(tmp_path / "in.jsonl")

    LocalInputLog(log, "m/1").record(frame, [1.0, 2.0], "r-2")

    assert [r["inputs"] for r in read_records(log)] == [
        {"age": 41.5, "visits": 3, "smoker": True, "name": "a"},
        {"age": None, "visits": None, "smoker": None, "name": None},
    ]


def test_a_failing_sink_does_not_fail_the_request(model_dir, caplog):
    class Broken:
        def record(self, frame, predictions, request_id):
            raise OSError("disk full")

    loaded = Scorer.load(ScorerConfig(model_dir=model_dir))
    scorer = Scorer(loaded.model, loaded.columns, sinks=[Broken()])
    assert len(scorer.score(body(2))["predictions"]) == 2
    assert "could not record the inputs with Broken" in caplog.text


def test_in_a_deployment_with_data_collection_inputs_and_outputs_are_collected(
    model_dir, monkeypatch
):
    """With the collector on (as Azure ML turns it on), rows reach the collector's queue."""
    from azureml.ai.monitoring import init as mdc
    from azureml.ai.monitoring.queue import get_queue

    monkeypatch.setenv("AZUREML_MDC_ENABLED", "true")
    monkeypatch.setenv("AZUREML_MDC_WORKER_DISABLED", "true")  # no sender thread: keep the queue
    mdc.teardown()
    try:
        loaded = Scorer.load(ScorerConfig(model_dir=model_dir))
        scorer = Scorer(loaded.model, loaded.columns, sinks=[AzureDataCollector()])
        scorer.score(body(2, seed=5))
        queue = get_queue()
        payloads = [queue.dequeue()[0] for _ in range(queue.length())]
    finally:
        mdc.teardown()
    designations = [p.designation() for p in payloads]
    assert designations == ["model_inputs", "model_outputs"]
    inputs = json.loads(payloads[0].content())
    assert [row["bmi"] for row in inputs] == pytest.approx(feature_frame(2, seed=5)["bmi"].tolist())
    assert payloads[0].correlation_id() == payloads[1].correlation_id()
