"""When a local pipeline step may be reused: fingerprints of what it reads, and the champion read
straight from the project's SQLite store, which must agree with MLflow's own answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from diabetes_model import pipeline_state as state


def test_a_fingerprint_changes_with_the_command_the_inputs_or_the_code(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "MLmodel").write_text("a")
    base = state.fingerprint("python -m x --a 1", [folder], "code-1")

    assert state.fingerprint("python -m x --a 1", [folder], "code-1") == base
    assert state.fingerprint("python -m x --a 2", [folder], "code-1") != base
    assert state.fingerprint("python -m x --a 1", [folder], "code-2") != base
    (folder / "MLmodel").write_text("b")
    assert state.fingerprint("python -m x --a 1", [folder], "code-1") != base


def test_hidden_half_written_files_are_not_content(tmp_path):
    (tmp_path / "train.parquet").write_bytes(b"rows")
    before = state.tree_hash(tmp_path)
    (tmp_path / ".train.parquet.x.part").write_bytes(b"half")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "m.pyc").write_bytes(b"cache")
    assert state.tree_hash(tmp_path) == before


def registered(uri: str, tmp_path: Path, versions: int) -> MlflowClient:
    import mlflow

    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    client.create_registered_model("m")
    for _ in range(versions):
        with mlflow.start_run() as run:
            mlflow.log_text("x", "model/file.txt")
        client.create_model_version("m", f"runs:/{run.info.run_id}/model", run.info.run_id)
    return client


def test_the_sqlite_read_of_the_champion_agrees_with_mlflow(isolated_mlflow, tmp_path):
    client = registered(isolated_mlflow, tmp_path, versions=2)
    assert state.champion_token(isolated_mlflow, "m") == state.NO_CHAMPION

    client.set_registered_model_alias("m", "champion", "2")
    fast = state.champion_token(isolated_mlflow, "m")
    mlflow_says = state._mlflow_champion(isolated_mlflow, "m")

    assert fast == mlflow_says == f"2:{client.get_model_version('m', '2').run_id}"
    assert state.champion_token(isolated_mlflow, "other") == state.NO_CHAMPION


def test_no_store_yet_means_no_champion(tmp_path):
    assert state.champion_token(f"sqlite:///{tmp_path}/none/mlflow.db", "m") == state.NO_CHAMPION


@pytest.mark.parametrize("record", ["{", '{"fingerprint": 1}', ""])
def test_an_unreadable_record_means_run_the_step(tmp_path, record):
    (tmp_path / state.RECORD_FILE).write_text(record)
    assert state.read_record(tmp_path) is None
