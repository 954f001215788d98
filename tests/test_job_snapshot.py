"""The code snapshot of a job and of an online deployment (src/, trimmed by src/.amlignore through
azure-ai-ml's own ignore rules) holds what they run and nothing else: the training and the scoring
code run from a copy of it, and every module in it is one they import."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CODE = ROOT / "src"

# Runs in the snapshot copy: the job's command, then the scoring script's imports; prints the
# package modules that were imported and where the package came from.
DRIVER = """
import json, runpy, sys
sys.argv = ["python -m diabetes_model.train", *sys.argv[1:]]
try:
    runpy.run_module("diabetes_model.train", run_name="__main__", alter_sys=True)
except SystemExit as exit:
    code = exit.code
import diabetes_model, diabetes_model.serving.score, diabetes_model.serving.scorer
# The job's module ran as __main__.
modules = sorted({"diabetes_model.train", *(m for m in sys.modules if m.startswith("diabetes_model"))})
print(json.dumps({"code": code, "package": diabetes_model.__file__, "modules": modules}))
"""


def snapshot_files() -> list[Path]:
    from azure.ai.ml._utils._asset_utils import get_directory_size, get_ignore_file

    _, files = get_directory_size(CODE, ignore_file=get_ignore_file(CODE))
    return [Path(name).relative_to(CODE) for name in files]


def module_name(path: Path) -> str:
    parts = path.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.fixture(scope="module")
def job_run(tmp_path_factory, diabetes_csv):
    copy = tmp_path_factory.mktemp("snapshot")
    for relative in snapshot_files():
        (copy / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CODE / relative, copy / relative)
    store = tmp_path_factory.mktemp("store") / "mlflow.db"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store}", "PYTHONPATH": str(copy)}
    argv = ["--data", str(diabetes_csv), "--max-iter", "5", "--no-register"]
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, *argv],
        cwd=copy, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return {"copy": copy, "result": json.loads(done.stdout.strip().splitlines()[-1])}


def test_the_training_runs_from_the_snapshot_alone(job_run):
    assert job_run["result"]["code"] == 0
    assert Path(job_run["result"]["package"]).is_relative_to(job_run["copy"])


def test_every_module_in_the_snapshot_is_one_the_job_or_the_endpoint_imports(job_run):
    shipped = {module_name(p) for p in snapshot_files() if p.suffix == ".py"}
    imported = set(job_run["result"]["modules"])
    assert sorted(shipped - imported) == [], "never run in a job: add them to src/.amlignore"
    assert sorted(imported - shipped) == [], "needed in a job but left out by src/.amlignore"


def test_workstation_tools_and_the_azure_client_code_stay_out():
    shipped = {str(p) for p in snapshot_files()}
    assert not [
        p for p in shipped if p.startswith(("diabetes_model/workstation/", "diabetes_model/azure/"))
    ]
    assert "diabetes_model/serving/score.py" in shipped
