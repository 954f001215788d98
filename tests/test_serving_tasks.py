"""The serve, predict, deploy and drift tasks, run through invoke's MockContext."""

from __future__ import annotations

import inspect
import json
import shlex
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest
from example_tables import penguins
from invoke import Config, Exit, MockContext, Result
from project_tasks import load_project_tasks
from projects import invoke_config
from serving_support import register_model

from diabetes_model.core import drift
from diabetes_model.serving.answer import read_answer
from diabetes_model.serving.predict import format_predictions

ROOT = Path(__file__).resolve().parents[1]
FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


tasks = load_project_tasks()


def context(**sections) -> MockContext:
    config = invoke_config()
    for name, values in sections.items():
        config[name] = {**config.get(name, {}), **values}
    return MockContext(config=Config(overrides=config), run=Result(exited=0), repeat=True)


def ran(c: MockContext) -> list[str]:
    return shlex.split(c.run.call_args.args[0])


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory) -> str:
    """A store with versions 1 and 2 of the model, shared by the serve tests."""
    uri = f"sqlite:///{(tmp_path_factory.mktemp('store') / 'mlflow.db').as_posix()}"
    register_model(uri, versions=2)
    return uri


def test_serve_runs_azmlinfsrv_with_score_py_on_the_newest_version(
    monkeypatch, tmp_path, two_versions
):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", two_versions)
    monkeypatch.setattr(tasks, "ROOT", tmp_path)
    c = context()
    tasks.serve(c)
    command = ran(c)
    assert command[:3] == [sys.executable, "-m", "diabetes_model.serving.server"]
    option = dict(zip(command[3::2], command[4::2], strict=True))
    assert option["--host"] == "127.0.0.1" and option["--port"] == "5001"
    assert option["--entry_script"] == str(ROOT / "src/diabetes_model/serving/score.py")
    model_dir = tmp_path / "outputs/serving/models/diabetes-regressor/2"
    assert option["--model_dir"] == str(model_dir)
    assert (model_dir / "MLmodel").is_file()
    env = c.run.call_args.kwargs["env"]
    assert env["DIABETES_MODEL_INPUT_LOG"] == str(tmp_path / "outputs/serving/inputs.jsonl")


def test_serve_takes_a_version_port_and_workers(monkeypatch, tmp_path, two_versions):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", two_versions)
    monkeypatch.setattr(tasks, "ROOT", tmp_path)
    c = context()
    tasks.serve(c, model="diabetes-regressor/1", port=8123, workers=2)
    option = dict(zip(ran(c)[3::2], ran(c)[4::2], strict=True))
    assert option["--model_dir"].endswith("diabetes-regressor/1")
    assert (option["--port"], option["--worker_count"]) == ("8123", "2")


@pytest.mark.parametrize(
    ("model", "says"),
    [
        ("", "no registered versions of 'diabetes-regressor'"),
        ("diabetes-regressor", "is not NAME/VERSION"),
        ("diabetes-regressor/7", "cannot load model diabetes-regressor/7"),
    ],
)
def test_serve_without_a_usable_model_is_one_line(model, says, monkeypatch, tmp_path):
    # The empty per-test store of conftest.py: nothing registered.
    monkeypatch.setattr(tasks, "ROOT", tmp_path)
    with pytest.raises(Exit) as caught:
        tasks.serve(context(), model=model)
    assert says in str(caught.value.message) and "\n" not in caught.value.message


def test_serve_with_an_unreadable_store_is_one_line(monkeypatch, tmp_path):
    store = tmp_path / "mlflow.db"
    store.write_bytes(b"not a database")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store.as_posix()}")
    monkeypatch.setattr(tasks, "ROOT", tmp_path)
    with pytest.raises(Exit) as caught:
        tasks.serve(context())
    assert "cannot read the model registry" in caught.value.message
    assert "\n" not in caught.value.message


class Recorder(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []
    authorization: ClassVar[list[str | None]] = []
    reply: ClassVar[dict | None] = None  # the answer to send; None: a number per row

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Recorder.received.append(body)
        Recorder.authorization.append(self.headers.get("Authorization"))
        rows = body["input_data"]["data"]
        reply = Recorder.reply or {"predictions": [100.0 + i for i in range(len(rows))]}
        answer = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def scoring_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Recorder.received.clear()
    Recorder.authorization.clear()
    Recorder.reply = None
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/score"
    finally:
        server.shutdown()
        server.server_close()


def test_predict_sends_training_rows_and_prints_one_line_per_row(scoring_url, diabetes_csv, capsys):
    c = context(project={"data_path": str(diabetes_csv)})
    tasks.predict(c, url=scoring_url, rows=3)
    (body,) = Recorder.received
    assert body["input_data"]["columns"] == FEATURES
    assert body["input_data"]["data"] == pd.read_csv(diabetes_csv)[FEATURES].head(3).values.tolist()
    assert capsys.readouterr().out.splitlines() == [
        "row 0: 100.00",
        "row 1: 101.00",
        "row 2: 102.00",
    ]


def test_predict_sends_a_request_file_as_it_is(scoring_url, tmp_path, capsys):
    request = {"input_data": {"columns": FEATURES, "data": [[0.0] * 10]}}
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    tasks.predict(context(), url=scoring_url, file=str(path))
    assert Recorder.received == [request]
    assert capsys.readouterr().out.strip() == "row 0: 100.00"


IRIS_ANSWER = {
    "predictions": ["setosa", "virginica"],
    "probabilities": [
        {"setosa": 0.97, "versicolor": 0.02, "virginica": 0.01},
        {"setosa": 0.0, "versicolor": 0.3, "virginica": 0.7},
    ],
}


def test_predict_prints_a_classifiers_label_and_probabilities_likeliest_first(
    scoring_url, tmp_path, capsys
):
    Recorder.reply = IRIS_ANSWER
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"input_data": {"columns": ["a"], "data": [[1.0], [2.0]]}}))
    tasks.predict(context(), url=scoring_url, file=str(path))
    assert capsys.readouterr().out.splitlines() == [
        "row 0: setosa (setosa 0.97, versicolor 0.02, virginica 0.01)",
        "row 1: virginica (virginica 0.70, versicolor 0.30, setosa 0.00)",
    ]


def test_predict_shows_the_five_likeliest_of_many_classes_and_true_false_labels():
    many = {str(n): share for n, share in enumerate([0.4, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05])}
    answer = read_answer(
        {"predictions": [0, True], "probabilities": [many, {"false": 0.25, "true": 0.75}]}
    )
    assert format_predictions(answer).splitlines() == [
        "row 0: 0 (0 0.40, 1 0.20, 2 0.10, 3 0.10, 4 0.10, 2 more)",
        "row 1: true (true 0.75, false 0.25)",
    ]


def test_predict_refuses_an_answer_it_cannot_read_in_one_line(scoring_url, tmp_path):
    Recorder.reply = {"predictions": ["setosa"]}  # labels but no probabilities
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"input_data": {"columns": ["a"], "data": [[1.0]]}}))
    with pytest.raises(Exit, match=r"answered with no usable predictions \(prediction 0 is"):
        tasks.predict(context(), url=scoring_url, file=str(path))


def test_predict_sends_a_csv_with_text_true_false_and_blanks_as_json(scoring_url, tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("island,bill_mm,male,species\nDream,38.5,True,Adelie\n,40,,Gentoo\n")
    tasks.predict(context(project={"target": "species"}), url=scoring_url, file=str(path))
    assert Recorder.received == [
        {
            "input_data": {
                "columns": ["island", "bill_mm", "male"],
                "data": [["Dream", 38.5, True], [None, 40.0, None]],
            }
        }
    ]


def test_predict_sends_rows_of_a_table_with_gaps(scoring_url, tmp_path):
    data = tmp_path / "penguins.csv"
    penguins(40).to_csv(data, index=False)
    settings = {"data_path": str(data), "target": "species", "features": []}
    tasks.predict(context(project=settings), url=scoring_url, rows=20)
    (body,) = Recorder.received
    assert body["input_data"]["columns"] == ["island", "bill_mm", "mass_g", "male"]
    rows = body["input_data"]["data"]
    assert rows[0][0] is None and rows[0][3] is None  # the table's first row has both gaps
    assert {type(row[3]) for row in rows[1:19]} == {bool}  # the next gap is in row 19


def test_predict_sends_an_endpoint_key_from_the_environment_only(
    scoring_url, diabetes_csv, monkeypatch, capsys
):
    c = context(project={"data_path": str(diabetes_csv)})
    tasks.predict(c, url=scoring_url, rows=1)
    monkeypatch.setenv("AZUREML_ENDPOINT_KEY", "key-from-env")
    tasks.predict(c, url=scoring_url, rows=1)
    assert Recorder.authorization == [None, "Bearer key-from-env"]
    assert "key-from-env" not in capsys.readouterr().out


def test_predict_refuses_an_unreadable_csv(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(Exit, match="is not a readable CSV"):
        tasks.predict(context(), url="http://127.0.0.1:9/score", file=str(path))


def test_predict_without_data_or_file_says_what_to_do(tmp_path):
    c = context(project={"data_path": str(tmp_path / "missing.csv")})
    with pytest.raises(Exit, match=r"run `invoke data` first.*or send a request with --file"):
        tasks.predict(c, url="http://127.0.0.1:9/score")


# copier: deploy-begin (invoke deploy)
def test_deploy_dry_run_writes_specs_where_configured(tmp_path, monkeypatch, capsys):
    for name in ("AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZUREML_WORKSPACE_NAME"):
        monkeypatch.delenv(name, raising=False)
    c = context(deploy={"output_dir": str(tmp_path)})
    tasks.deploy(c, dry_run=True, model_version="3", slot="green")
    assert (tmp_path / "endpoint.yml").is_file() and (tmp_path / "green.yml").is_file()
    assert "nothing was contacted" in capsys.readouterr().out


def test_deploy_refuses_a_slot_that_is_not_blue_or_green(tmp_path):
    with pytest.raises(Exit, match="use blue or green"):
        tasks.deploy(context(deploy={"output_dir": str(tmp_path)}), dry_run=True, slot="red")


# copier: deploy-end


def write_log(path: Path, frame: pd.DataFrame) -> None:
    with path.open("w") as file:
        for row in frame.to_dict(orient="records"):
            file.write(json.dumps({"inputs": row}) + "\n")


@pytest.mark.parametrize(("bmi_shift", "drifts"), [(0.0, False), (6.0, True)])
def test_drift_writes_the_report_and_fails_only_on_drift(
    bmi_shift, drifts, diabetes_csv, tmp_path, capsys
):
    recent = pd.read_csv(diabetes_csv)[FEATURES].sample(150, random_state=3)
    write_log(tmp_path / "inputs.jsonl", recent.assign(bmi=recent["bmi"] + bmi_shift))
    c = context(project={"data_path": str(diabetes_csv)})
    arguments = {"log": str(tmp_path / "inputs.jsonl"), "output": str(tmp_path / "report")}
    if drifts:
        with pytest.raises(Exit) as caught:
            tasks.drift(c, **arguments)
        assert caught.value.code == 1
        assert capsys.readouterr().out.startswith("drift in bmi over 150 recent rows")
    else:
        tasks.drift(c, **arguments)
        assert capsys.readouterr().out.startswith("no drift over 150 recent rows")
    assert (tmp_path / "report" / "drift.png").is_file()


def test_drift_defaults_are_the_drift_module_defaults():
    defaults = {
        name: p.default for name, p in inspect.signature(tasks.drift.body).parameters.items()
    }
    assert defaults["psi_threshold"] == drift.PSI_THRESHOLD
    assert defaults["alpha"] == drift.ALPHA


def test_every_serving_task_documents_every_flag():
    serving = [tasks.serve, tasks.predict, tasks.drift]
    # copier: deploy-begin
    serving.append(tasks.deploy)
    # copier: deploy-end
    for task in serving:
        flags = set(inspect.signature(task.body).parameters) - {"c"}
        assert flags == set(task.help), task.name
        assert task.__doc__ and "\n" not in task.__doc__.strip()


def test_predict_sends_the_features_of_the_training_table_itself(scoring_url, tmp_path):
    data = tmp_path / "penguins.csv"
    frame = penguins(5)
    frame.insert(0, "penguin_id", range(100, 105))  # an id, left out of the features
    frame.to_csv(data, index=False)
    settings = {"data_path": str(data), "target": "species", "features": ["mass_g", "island"]}
    tasks.predict(context(project=settings), url=scoring_url, file=str(data))
    (body,) = Recorder.received
    assert body["input_data"]["columns"] == ["mass_g", "island"]  # in the model's order
