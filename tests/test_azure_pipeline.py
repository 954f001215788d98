"""`invoke pipeline --remote`: the real azure-ai-ml client submits azureml/pipeline.yml through
the offline Azure fake; the pipeline job arrives with its four steps and their commands, a failed
step fails `--stream`, and the gate's verdict comes back from the register step's run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from projects import make_project

from diabetes_model.azure import assets
from diabetes_model.azure.pipeline import PipelineSubmission, submit_pipeline
from diabetes_model.errors import UserError
from diabetes_model.gitinfo import git_info
from diabetes_model.pipeline_specs import load_pipeline

ROOT = Path(__file__).resolve().parents[1]


class Said(list):
    def __call__(self, line: str) -> None:
        self.append(line)

    def text(self) -> str:
        return "\n".join(self)


@pytest.fixture
def project(tmp_path: Path, diabetes_csv: Path):
    return make_project(tmp_path, project={"data_path": str(diabetes_csv)})


def submit(project, said=None, environ=None, **options) -> int:
    submission = options.pop("submission", PipelineSubmission())
    return submit_pipeline(
        project,
        submission,
        environ or {},
        say=said if said is not None else Said(),
        sleep=lambda seconds: None,
        **options,
    )


def only_pipeline(cloud) -> str:
    [name] = cloud.jobs_created
    return name


def test_the_pipeline_job_arrives_with_its_steps_and_their_commands(cloud, project):
    said = Said()
    assert submit(project, said) == 0

    name = only_pipeline(cloud)
    job = cloud.job(name)["properties"]
    assert job["jobType"] == "Pipeline"
    assert job["settings"]["continue_on_step_failure"] is False
    steps = cloud.pipeline_steps(name)
    assert list(steps) == ["prep", "train", "evaluate", "register"]
    spec = load_pipeline(ROOT / "azureml" / "pipeline.yml")
    for step in spec.steps:
        assert steps[step.name]["command"] == step.command
        assert steps[step.name]["component"]["environment"].split("/")[-3] == "diabetes-model-env"
        assert "/codes/" in steps[step.name]["component"]["code"]
    assert not steps["evaluate"]["component"]["is_deterministic"]
    assert steps["train"]["inputs"]["train"]["value"] == "${{parent.jobs.prep.outputs.train}}"
    data_version = assets.file_hash(project.data_path)
    assert job["inputs"]["data"]["uri"].endswith(
        f"/data/diabetes-model-data/versions/{data_version}"
    )
    assert job["inputs"]["tolerance"]["value"] == "0.01"
    assert "Studio: https://ml.azure.com/runs/" in said.text()
    assert "code snapshot: src/" in said.text()


def test_provenance_reaches_the_steps_as_environment_variables(cloud, project):
    environ = {"GITHUB_ACTOR": "octocat", "GITHUB_SERVER_URL": "https://github.com",
               "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "7"}  # fmt: skip
    submit(project, environ=environ, submission=PipelineSubmission(job_name="pipe-1"))

    variables = cloud.pipeline_steps("pipe-1")["register"]["environment_variables"]
    git = git_info(ROOT)
    assert variables["DIABETES_MODEL_COMMIT"] == git.commit
    assert variables["DIABETES_MODEL_TRIGGERED_BY"] == "octocat"
    assert variables["DIABETES_MODEL_CI_RUN_URL"] == "https://github.com/o/r/actions/runs/7"
    assert variables["DIABETES_MODEL_PIPELINE_RUN"] == "pipe-1"
    assert variables["DIABETES_MODEL_ENVIRONMENT"].startswith("diabetes-model-env:")
    assert variables["DIABETES_MODEL_DATA_ASSET"].startswith("azureml:diabetes-model-data:")
    assert cloud.job("pipe-1")["properties"]["tags"]["commit"] == git.commit


def test_flags_become_pipeline_inputs_and_the_train_steps_extra_arguments(cloud, project):
    submission = PipelineSubmission(
        overrides={"max_iter": 50},
        train_args=("--param", "l2_regularization=0.5"),
        force=True,
        promote_anyway=True,
        compute="gpu-cluster",
        job_name="pipe-2",
    )
    submit(project, submission=submission)

    job = cloud.job("pipe-2")["properties"]
    assert job["inputs"]["max_iter"]["value"] == "50"
    assert job["inputs"]["promote_anyway"]["value"] == "True"
    assert job["settings"]["force_rerun"] is True
    assert job["settings"]["default_compute"].endswith("/computes/gpu-cluster")
    command = cloud.pipeline_steps("pipe-2")["train"]["command"]
    assert command.endswith("--no-register --param l2_regularization=0.5")


def test_stream_reports_each_step_and_the_gates_verdict(cloud, project, tmp_path):
    verdict = "not promoted: test_rmse 71.6 vs champion version 3's 52.4: 36.6% worse"
    metrics = {"candidate": {"test_rmse": 71.6, "test_r2": 0.1}, "champion": {"test_rmse": 52.4}}
    gate = {"metric": "test_rmse", "champion_version": "3", "metrics": metrics}
    cloud.step_tags["register"] = {
        "gate.summary": verdict, "gate.promoted": "false", "gate.metrics": json.dumps(gate),
    }  # fmt: skip
    summary = tmp_path / "step-summary.md"
    said = Said()

    assert submit(project, said, {"GITHUB_STEP_SUMMARY": str(summary)}, stream=True) == 0

    assert said[-5:] == [
        "prep: Completed", "train: Completed", "evaluate: Completed", "register: Completed", verdict,
    ]  # fmt: skip
    written = summary.read_text()
    assert verdict in written and "| train | Completed |" in written
    assert "| metric | candidate | champion (version 3) |" in written
    assert "| test_rmse (primary) | 71.6 | 52.4 |" in written and "| test_r2 | 0.1 | - |" in written
    assert "[pipeline " in written and "in Studio](https://ml.azure.com/runs/" in written


def test_a_failed_step_fails_stream_with_a_non_zero_exit_naming_it(cloud, project):
    cloud.failing_step = "train"

    with pytest.raises(
        UserError, match=r"ended Failed; its logs are in Studio: .*failed step: train"
    ):
        submit(project, stream=True)
    statuses = {
        run["displayName"]: run["status"] for run in cloud.pipeline_children[only_pipeline(cloud)]
    }
    assert statuses == {"prep": "Completed", "train": "Failed", "evaluate": "NotStarted",
                        "register": "NotStarted"}  # fmt: skip


def test_notifications_ask_azure_ml_to_email_when_the_pipeline_ends(cloud, tmp_path, diabetes_csv):
    project = make_project(
        tmp_path,
        project={"data_path": str(diabetes_csv)},
        azure={"notify_emails": "ml-team@example.com"},
    )
    submit(project)

    assert cloud.job(only_pipeline(cloud))["properties"]["notificationSetting"] == {
        "emailOn": ["JobCompleted", "JobFailed", "JobCancelled"],
        "emails": ["ml-team@example.com"],
    }


def test_a_dry_run_contacts_nothing_and_writes_a_pipeline_load_job_accepts(
    monkeypatch, tmp_path, project
):
    from azure.ai.ml import load_job
    from azure_fake import fake_azure

    with fake_azure(monkeypatch, home=str(tmp_path / "home")) as cloud:
        said = Said()
        assert submit(project, said, dry_run=True) == 0
        assert cloud.requests == []

    written = tmp_path / "outputs" / "azureml" / "pipeline-job.yml"
    assert written.read_text().startswith("$schema: https://azuremlschemas.azureedge.net/")
    job = load_job(source=written)
    assert list(job.jobs) == ["prep", "train", "evaluate", "register"]
    assert job.jobs["register"].environment_variables["DIABETES_MODEL_PIPELINE_RUN"] == job.name
    resolved = yaml.safe_load(written.read_text())
    assert Path(resolved["jobs"]["prep"]["component"]["code"]) == ROOT / "src"
    assert "pipeline-job.yml (nothing was submitted)" in said.text()
    # In a fresh process (the SDK says each thing once per process) loading it prints nothing.
    load = "import sys, diabetes_model.azure, azure.ai.ml as ml; ml.load_job(source=sys.argv[1])"
    loaded = subprocess.run(
        [sys.executable, "-c", load, str(written)], capture_output=True, text=True
    )
    assert (loaded.returncode, loaded.stderr) == (0, "")
