"""Faults while training: an interrupt never breaks the store, never leaves a run RUNNING and never
registers anything; a store that cannot be used is one line with its fix.

A real Ctrl-C cannot be timed in a test, so the signal is sent by the training process to itself at
a controlled point: after a given number of SQL statements while the store is built, or when the
model is being logged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from mlflow import MlflowClient

from diabetes_model.errors import UserError
from diabetes_model.tracking_store import create_store, ensure_store, store_state

# Builds the store in a child process that sends itself SIGINT after N SQL statements.
BUILD_AND_INTERRUPT = """
import os, signal, sys
from pathlib import Path
from sqlalchemy import event
from sqlalchemy.engine import Engine
from diabetes_model.tracking_store import create_store
count = 0
@event.listens_for(Engine, "before_cursor_execute")
def interrupt_at(*args):
    global count
    count += 1
    if count == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGINT)
create_store(Path(sys.argv[1]))
"""

# Trains in a child process that sends itself `signal` when the model is being logged.
TRAIN_AND_INTERRUPT = """
import os, signal, sys
import mlflow
real = mlflow.log_artifacts
def interrupted(*args, **kwargs):
    os.kill(os.getpid(), getattr(signal, sys.argv[1]))
    return real(*args, **kwargs)
mlflow.log_artifacts = interrupted
from diabetes_model.train import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("statements", [3, 40, 150, 400, 900])
def test_a_store_interrupted_while_it_is_built_is_absent_or_whole_never_broken(
    tmp_path, statements
):
    db = tmp_path / "mlruns" / "mlflow.db"
    db.parent.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", BUILD_AND_INTERRUPT, str(db), str(statements)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert store_state(db).kind in {"missing", "ok"}, done.stderr
    assert [p.name for p in db.parent.iterdir() if p.name != "mlflow.db"] == []
    ensure_store(f"sqlite:///{db}")  # the next run builds it (or finds it whole)
    assert store_state(db).kind == "ok"


def test_building_a_store_twice_keeps_the_first(tmp_path):
    db = tmp_path / "mlflow.db"
    assert create_store(db) is True
    inode = db.stat().st_ino
    assert create_store(db) is False
    assert db.stat().st_ino == inode


@pytest.mark.parametrize("sent", ["SIGINT", "SIGTERM"])
def test_an_interrupted_training_ends_its_run_killed_in_one_line_and_registers_nothing(
    tmp_path, diabetes_csv, sent
):
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    done = subprocess.run(
        [sys.executable, "-c", TRAIN_AND_INTERRUPT, sent, "--data", str(diabetes_csv), "--max-iter", "5"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 130
    assert done.stderr.strip().splitlines()[-1] == (
        "interrupted: nothing was registered; the run, if it began, is marked KILLED"
    )
    assert "Traceback" not in done.stderr
    client = MlflowClient(uri)
    [run] = client.search_runs([client.get_experiment_by_name("diabetes-model").experiment_id])
    assert run.info.status == "KILLED"
    assert client.search_model_versions("name='diabetes-regressor'") == []


def test_a_run_whose_process_was_killed_outright_is_ended_by_the_next_training(
    tmp_path, diabetes_csv
):
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    stalling = tmp_path / "stalling"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "STALLING": str(stalling)}
    argv = ["--data", str(diabetes_csv), "--max-iter", "5", "--no-register"]
    # The child says when it is inside its run (saving the model); only then does this process open
    # the store, so the two never create its tables at the same time.
    stalled = (
        "import os, pathlib, sys, time, mlflow\n"
        "def stall(*args, **kwargs):\n"
        "    pathlib.Path(os.environ['STALLING']).touch()\n"
        "    time.sleep(300)\n"
        "mlflow.log_artifacts = stall\n"
        "from diabetes_model.train import main\nmain(sys.argv[1:])\n"
    )
    child = subprocess.Popen([sys.executable, "-c", stalled, *argv], env=env)
    deadline = time.monotonic() + 120
    try:
        while not stalling.exists():
            assert child.poll() is None, "the stalled training ended before it saved its model"
            assert time.monotonic() < deadline, "the stalled training never reached its model"
            time.sleep(0.2)
    finally:
        child.send_signal(signal.SIGKILL)  # no handler can run: the run stays RUNNING
        child.wait(timeout=30)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("diabetes-model")
    [orphan] = client.search_runs([experiment.experiment_id])
    assert orphan.info.status == "RUNNING"

    done = subprocess.run(
        [sys.executable, "-m", "diabetes_model.train", *argv],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert client.get_run(orphan.info.run_id).info.status == "KILLED"


def test_a_corrupted_store_is_one_line_with_its_fix(tmp_path, diabetes_csv, capsys, monkeypatch):
    from diabetes_model import train

    db = tmp_path / "mlruns" / "mlflow.db"
    db.parent.mkdir()
    db.write_bytes(b"this is not a database, it was overwritten" * 50)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    assert train.main(["--data", str(diabetes_csv), "--max-iter", "5"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: the MLflow store {db} is broken: not an SQLite database")
    assert err.endswith(f"move it aside and train again: mv {db.parent} {db.parent}.broken")


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder on a read-only file system (a read-only tmpfs where mounting is allowed), else a
    folder without write permission (which root ignores, so then the test is skipped)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True
        ).returncode
        == 0
    )
    if not mounted:
        if os.geteuid() == 0:
            pytest.skip("no read-only mount allowed here, and root writes anywhere")
        folder.chmod(0o500)
    yield folder
    if mounted:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_store_on_a_read_only_file_system_fails_fast_in_one_line(read_only_folder):
    started = time.monotonic()
    for where in (read_only_folder / "mlruns" / "mlflow.db", read_only_folder / "mlflow.db"):
        with pytest.raises(
            UserError, match=r"(cannot create|is not writable).*MLFLOW_TRACKING_URI"
        ):
            ensure_store(f"sqlite:///{where}")
    assert time.monotonic() - started < 5


def test_a_store_where_nothing_can_be_created_fails_fast_in_one_line():
    started = time.monotonic()
    with pytest.raises(UserError, match=r"cannot create the MLflow store folder /proc/no-store"):
        ensure_store("sqlite:////proc/no-store-here/mlflow.db")
    assert time.monotonic() - started < 5


def test_a_store_of_another_mlflow_is_named_with_the_way_out(tmp_path):
    import sqlite3

    db = tmp_path / "mlflow.db"
    create_store(db)
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'ffffeeee0000'")
    with pytest.raises(UserError, match=r"is newer: schema ffffeeee0000, unknown to this MLflow"):
        ensure_store(f"sqlite:///{db}")
