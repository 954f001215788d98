"""The `pipeline` task: the same hyperparameter flags as `train`, a summary at the end (and in
GitHub Actions on the job's summary page), and --remote/--dry-run through the Azure path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from invoke import Config, Exit, MockContext, Result
from project_tasks import load_project_tasks
from projects import invoke_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tasks():
    return load_project_tasks()


@pytest.fixture
def context(tmp_path: Path, diabetes_csv: Path) -> MockContext:
    config = invoke_config()
    config["project"]["data_path"] = str(diabetes_csv)
    config["azure"]["output_dir"] = str(tmp_path / "azureml")
    config["pipeline"]["output_dir"] = str(tmp_path / "pipeline")
    return MockContext(config=Config(overrides=config), run=Result(exited=0))


def test_pipeline_runs_the_steps_and_summarizes_them(tasks, context, tmp_path, monkeypatch, capsys):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    tasks.pipeline(context, max_iter=20, param=["l2_regularization=0.5"])

    out = capsys.readouterr().out
    assert "train ran in" in out and "register ran in" in out
    assert "promoted: diabetes-regressor version 1 is the champion" in out
    assert "evaluation report: " in out and out.rstrip().endswith("report.md")
    written = summary.read_text()
    assert "promoted: diabetes-regressor version 1" in written
    # the metrics table: candidate against the champion (none on a first run)
    assert "| metric | candidate | champion (none) |" in written
    assert "| test_rmse (primary) | " in written and "| test_r2 | " in written
    split = tmp_path / "pipeline" / "prep" / "train" / "split.json"
    assert split.is_file()

    tasks.pipeline(context, max_iter=20, param=["l2_regularization=0.5"])
    assert "prep reused, train reused, evaluate reused, register reused" in capsys.readouterr().out


def test_a_losing_candidate_ends_the_task_normally_with_not_promoted(tasks, context, capsys):
    """Exit 0: keeping a worse model out is the pipeline doing its job, not a failure."""
    tasks.pipeline(context, max_iter=20)
    capsys.readouterr()

    tasks.pipeline(context, max_iter=1)  # raises no Exit

    out = capsys.readouterr().out
    assert "\nnot promoted: test_rmse " in out and "the champion stays version 1" in out


def test_a_named_hyperparameter_through_param_is_refused_before_any_step(tasks, context, tmp_path):
    with pytest.raises(Exit, match=r"use --max-iter 5 instead"):
        tasks.pipeline(context, param=["max_iter=5"])
    assert not (tmp_path / "pipeline").exists()


def test_pipeline_dry_run_writes_the_resolved_pipeline_and_contacts_nothing(
    tasks, context, cloud, tmp_path
):
    from azure.ai.ml import load_job

    tasks.pipeline(context, remote=True, dry_run=True, max_iter=50, force=True)

    assert cloud.requests == []
    job = load_job(source=tmp_path / "azureml" / "pipeline-job.yml")
    assert job.inputs["max_iter"]._data == 50
    assert job.settings.force_rerun is True


def test_a_failed_remote_pipeline_ends_the_task_with_a_non_zero_exit(tasks, context, cloud):
    cloud.failing_step = "evaluate"

    with pytest.raises(Exit) as ended:
        tasks.pipeline(context, remote=True, stream=True)
    assert ended.value.code == 1
    assert "failed step: evaluate" in str(ended.value.message)


def test_pipeline_shares_trains_typed_hyperparameter_flags():
    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "invoke", *args], cwd=ROOT, capture_output=True, text=True
        )

    helped = cli("--help", "pipeline").stdout
    for flag in ("--max-iter=INT", "--max-depth=INT", "--learning-rate", "--param", "--force"):
        assert flag in helped
    refused = cli("pipeline", "--max-depth", "deep")
    assert refused.stderr.strip() == "error: --max-depth 'deep' is not a whole number"
