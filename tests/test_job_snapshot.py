"""The code snapshot of a job and of an online deployment (src/, trimmed by src/.amlignore through
azure-ai-ml's own ignore rules) holds what they run and nothing else: the training, the pipeline's
steps and the scoring code run from a copy of it, and every module in it is one they import."""

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


# Runs in the snapshot copy: each pipeline step's command (argv given as JSON), one after the other
# as the pipeline's jobs run them; prints the exit codes and the package modules imported.
PIPELINE_DRIVER = """
import json, runpy, sys
codes = []
STEPS = [argv[2] for argv in json.loads(sys.argv[1])]
for argv in json.loads(sys.argv[1]):
    sys.argv = ["python -m " + argv[2], *argv[3:]]
    try:
        runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
    except SystemExit as exit:
        codes.append(exit.code)
import diabetes_model
# Each step's module ran as __main__.
modules = sorted({*STEPS, *(m for m in sys.modules if m.startswith("diabetes_model"))})
print(json.dumps({"codes": codes, "package": diabetes_model.__file__, "modules": modules}))
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


@pytest.fixture(scope="module")
def pipeline_run(job_run, tmp_path_factory, diabetes_csv):
    """The four steps' commands, from azureml/components/, resolved with folders under a
    temporary directory (as `invoke pipeline` resolves them), run from the snapshot copy."""
    from diabetes_model.pipeline import step_argv, step_inputs
    from diabetes_model.pipeline_specs import load_pipeline

    spec = load_pipeline(ROOT / "azureml" / "pipeline.yml")
    out = tmp_path_factory.mktemp("pipeline")
    parent = {**spec.inputs, "data": diabetes_csv, "max_iter": 5}
    commands = []
    for step in spec.steps:
        outputs = {name: out / step.name / name for name in step.outputs}
        commands.append(step_argv(step, step_inputs(step, parent, out), outputs))
    store = tmp_path_factory.mktemp("pipeline-store") / "mlflow.db"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store}"}
    env["PYTHONPATH"] = str(job_run["copy"])
    done = subprocess.run(
        [sys.executable, "-c", PIPELINE_DRIVER, json.dumps(commands)],
        cwd=job_run["copy"], env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_pipeline_steps_run_from_the_snapshot_alone(job_run, pipeline_run):
    assert pipeline_run["codes"] == [0, 0, 0, 0]
    assert Path(pipeline_run["package"]).is_relative_to(job_run["copy"])


def test_the_training_runs_from_the_snapshot_alone(job_run):
    assert job_run["result"]["code"] == 0
    assert Path(job_run["result"]["package"]).is_relative_to(job_run["copy"])


def test_every_module_in_the_snapshot_is_one_the_job_or_the_endpoint_imports(job_run, pipeline_run):
    shipped = {module_name(p) for p in snapshot_files() if p.suffix == ".py"}
    imported = set(job_run["result"]["modules"]) | set(pipeline_run["modules"])
    assert sorted(shipped - imported) == [], "never run in a job: add them to src/.amlignore"
    assert sorted(imported - shipped) == [], "needed in a job but left out by src/.amlignore"


def test_workstation_tools_and_the_azure_client_code_stay_out():
    shipped = {str(p) for p in snapshot_files()}
    assert not [
        p for p in shipped if p.startswith(("diabetes_model/workstation/", "diabetes_model/azure/"))
    ]
    assert "diabetes_model/serving/score.py" in shipped
