"""`invoke drift --remote`: what the live deployment's data collector stored, read from the
(fake) workspace's blob store through the real azure-ai-ml and azure-storage-blob clients, against
the champion's training data asset, with the tests and report of the local `invoke drift`; and
the task's --retrain, which a fake GitHub API receives."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pandas as pd
import pytest
from azure_fake import FakeAzure, fake_azure
from azure_fake.online import collect_inputs
from deploy_support import endpoint_of, run
from github_fake import github_api
from invoke import Config, Exit, MockContext, Result
from project_tasks import load_project_tasks
from projects import invoke_config, make_project
from registry_support import PASSED, register_model

from diabetes_model.azure.collected import remote_drift
from diabetes_model.errors import UserError

FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
NOW = time.time()
HOUR = 3600


@pytest.fixture
def cloud(monkeypatch, tmp_path, diabetes_csv) -> Iterator[FakeAzure]:
    """Version 2, trained on the diabetes data asset, deployed to blue: the champion."""
    from diabetes_model.azure import assets
    from diabetes_model.azure.workspace import connect

    with fake_azure(monkeypatch, home=str(tmp_path / "home")) as fake:
        project = make_project(tmp_path)
        client = connect(project.azure.workspace())
        data = assets.ensure_data(client, project.specs.data, diabetes_csv, say=lambda line: None)
        register_model(fake, "2", {**PASSED, "data.asset": data})
        run(tmp_path)
        yield fake


def served(cloud: FakeAzure, rows: pd.DataFrame, hours_ago: float = 1, slot: str = "blue") -> None:
    name = endpoint_of(cloud)["name"]
    collect_inputs(cloud, name, slot, rows.to_dict(orient="records"), NOW - hours_ago * HOUR)


def recent(diabetes_csv, n: int = 200, bmi: float = 0.0) -> pd.DataFrame:
    rows = pd.read_csv(diabetes_csv)[FEATURES].sample(n, random_state=1)
    return rows.assign(bmi=rows["bmi"] + bmi)


def drift(tmp_path, days: int = 7, environ: dict | None = None, **options):
    options = {"report_dir": tmp_path / "drift", "min_rows": 30, "psi_threshold": 0.2,
               "alpha": 0.01, **options}  # fmt: skip
    project = make_project(tmp_path)
    said: list[str] = []
    return remote_drift(project, options, days, environ or {}, say=said.append, now=NOW), said


def test_inputs_like_the_training_data_show_no_drift(cloud, tmp_path, diabetes_csv):
    served(cloud, recent(diabetes_csv)[:120], hours_ago=30)
    served(cloud, recent(diabetes_csv)[120:], hours_ago=1)

    done, said = drift(tmp_path)

    assert done.result.drifted == [] and done.current_rows == 200
    assert said[0] == (
        f"200 rows collected on {endpoint_of(cloud)['name']}/blue; reference: the training data "
        "of diabetes-regressor:2"
    )


def test_heavier_patients_drift_on_bmi_and_the_summary_shows_the_table_and_the_endpoint(
    cloud, tmp_path, diabetes_csv
):
    served(cloud, recent(diabetes_csv, bmi=6))
    summary = tmp_path / "summary.md"

    done, _ = drift(tmp_path, environ={"GITHUB_STEP_SUMMARY": str(summary)})

    assert done.result.drifted == ["bmi"]
    name = endpoint_of(cloud)["name"]
    report = (tmp_path / "drift" / "drift.md").read_text()
    assert "diabetes-regressor:2's training data" in report
    assert f"modelDataCollector/{name}/blue/model_inputs (1 files, last 7 days)" in report
    text = summary.read_text()
    assert text.startswith("### Input drift\n") and "**Drift** in bmi" in text
    assert "| bmi | numeric |" in text and "![" not in text
    assert f"[endpoint {name} in Studio](https://ml.azure.com/endpoints/realtime/{name}/" in text


def test_only_the_live_slots_inputs_within_the_window_are_read(cloud, tmp_path, diabetes_csv):
    served(cloud, recent(diabetes_csv))
    served(cloud, recent(diabetes_csv, bmi=6), hours_ago=2 * 24 + 2)  # before the window
    served(cloud, recent(diabetes_csv, bmi=6), slot="green")  # no traffic there

    assert drift(tmp_path, days=2)[0].result.drifted == []
    assert drift(tmp_path, days=3)[0].result.drifted == ["bmi"]


def test_lines_that_cannot_be_read_are_skipped(cloud, tmp_path, diabetes_csv):
    served(cloud, recent(diabetes_csv, n=40))
    (blobs,) = (
        cloud.blobs.values() if len(cloud.blobs) == 1 else [cloud.blobs[cloud.default_storage]]
    )
    (name,) = [n for n in blobs if n.startswith("modelDataCollector/")]
    blobs[name].data += b'{"data": [{"age": 1' + b"\n\xff\xfe\n"
    assert drift(tmp_path)[0].current_rows == 40


def test_fewer_collected_rows_than_the_minimum_are_not_judged(cloud, tmp_path, diabetes_csv):
    served(cloud, recent(diabetes_csv, n=5))
    summary = tmp_path / "summary.md"
    with pytest.raises(UserError, match=r"^only 5 scored rows in azureml://.* at least 30"):
        drift(tmp_path, environ={"GITHUB_STEP_SUMMARY": str(summary)})
    assert not (tmp_path / "drift").exists()
    assert summary.read_text().startswith("### Input drift\n\n**Not judged:** only 5 scored rows")


def test_a_window_of_no_days_is_refused(cloud, tmp_path):
    with pytest.raises(UserError, match=r"^--days 0 must be at least 1$"):
        drift(tmp_path, days=0)


def test_nothing_collected_is_one_line(cloud, tmp_path):
    with pytest.raises(UserError, match=r"^no inputs collected for .*/blue in the last 7 days"):
        drift(tmp_path)


def test_a_missing_endpoint_is_one_line(cloud, tmp_path):
    name = endpoint_of(cloud)["name"]
    cloud.resources.pop(f"onlineEndpoints/{name}")
    with pytest.raises(UserError, match=rf"^no online endpoint {name} in the workspace"):
        drift(tmp_path)


def test_a_champion_without_a_training_data_asset_is_one_line(cloud, tmp_path, diabetes_csv):
    served(cloud, recent(diabetes_csv))
    cloud.get("models/diabetes-regressor/versions/2")["properties"]["tags"].pop("data.asset")
    with pytest.raises(UserError, match=r"diabetes-regressor:2 records no training data asset"):
        drift(tmp_path)


@pytest.fixture
def context(tmp_path) -> MockContext:
    config = invoke_config()
    config["project"]["data_path"] = str(tmp_path / "no-data.csv")
    return MockContext(config=Config(overrides=config), run=Result(exited=0))


def test_the_task_starts_the_train_workflow_on_drift_and_exits_1(
    cloud, tmp_path, diabetes_csv, context, monkeypatch, capsys
):
    served(cloud, recent(diabetes_csv, bmi=6))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    tasks = load_project_tasks()
    with github_api() as github:
        for name, value in {"GITHUB_TOKEN": "ghs_fake", "GITHUB_REPOSITORY": "octo/model",
                            "GITHUB_API_URL": github.url}.items():  # fmt: skip
            monkeypatch.setenv(name, value)
        with pytest.raises(Exit) as ended:
            tasks.drift(context, remote=True, retrain=True, output=str(tmp_path / "drift"))

    assert ended.value.code == 1
    (call,) = github.requests
    assert call.path == "/repos/octo/model/actions/workflows/train.yml/dispatches"
    out = capsys.readouterr().out
    assert "drift in bmi over 200 recent rows" in out
    assert "started the Train workflow on main (drift in bmi)" in out
    text = summary.read_text()
    assert text.index("**Drift** in bmi") < text.index("**Retraining:** started the Train workflow")


def test_without_drift_the_task_starts_nothing(cloud, tmp_path, diabetes_csv, context, monkeypatch):
    served(cloud, recent(diabetes_csv))
    tasks = load_project_tasks()
    with github_api() as github:
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        tasks.drift(context, remote=True, retrain=True, output=str(tmp_path / "drift"))
    assert github.requests == []
