"""End to end, as a user runs it: `invoke data` then `invoke train` in a fresh copy of the project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from projects import copy_invoke_yaml

ROOT = Path(__file__).resolve().parents[1]
INVOKE = str(Path(sys.executable).parent / "invoke")

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project in its own git repository, as a user's clone would be."""
    copy = tmp_path_factory.mktemp("project")
    for name in ("tasks.py", "pyproject.toml", ".gitignore"):
        shutil.copy(ROOT / name, copy / name)
    copy_invoke_yaml(copy)
    for folder in ("src", "azureml"):  # azureml/train.yml holds the training command
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    subprocess.run([*git, "add", "."], cwd=copy, check=True)
    subprocess.run([*git, "commit", "-qm", "copy"], cwd=copy, check=True)
    return copy


def invoke(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = str(project / "src")
    return subprocess.run(
        [INVOKE, *args], cwd=project, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def trained(project: Path):
    data = invoke(project, "data")
    assert data.returncode == 0, data.stderr
    done = invoke(project, "train")
    assert done.returncode == 0, done.stderr
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlruns' / 'mlflow.db'}")
    return {"data": data, "train": done, "client": client}


def test_invoke_data_writes_the_csv_under_data(project, trained):
    assert (project / "data" / "diabetes.csv").is_file()
    assert "442 rows" in trained["data"].stdout


def test_invoke_train_logs_a_finished_run_in_the_project_store(project, trained):
    client = trained["client"]
    experiment = client.get_experiment_by_name("diabetes-model")
    [run] = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert {"train_rmse", "test_rmse", "test_mae", "test_r2"} <= set(run.data.metrics)
    artifacts = {item.path for item in client.list_artifacts(run.info.run_id)}
    assert "diagnostics.png" in artifacts
    # the artifacts live inside the project, beside the database
    assert experiment.artifact_location.startswith((project / "mlruns").as_uri())
    assert run.info.run_id in trained["train"].stdout


def test_the_registered_version_records_the_commit_of_a_clean_tree(project, trained):
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()
    [version] = trained["client"].search_model_versions("name='diabetes-regressor'")
    assert str(version.version) == "1"
    assert version.tags["git.commit"] == commit
    assert version.tags["git.dirty"] == "false"  # data/ and mlruns/ are ignored by git
    assert version.tags["data.rows"] == "442"


def test_bad_input_is_one_line_and_registers_nothing(project, trained):
    done = invoke(project, "train", "--data", "data/missing.csv")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: data file data/missing.csv not found; run `invoke data` first, or fix the path"
    )
    assert len(trained["client"].search_model_versions("name='diabetes-regressor'")) == 1
