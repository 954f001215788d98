"""The Azure-facing invoke tasks through MockContext: local `train` runs the job spec's command,
`--remote` submits that same command, and the other remote tasks reach the (fake) workspace."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
import yaml
from invoke import Config, Exit, MockContext, Result
from project_tasks import load_project_tasks
from projects import invoke_config

from diabetes_model import job_specs
from diabetes_model.azure import assets

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tasks():
    return load_project_tasks()


@pytest.fixture
def data_file(tmp_path: Path, diabetes_csv: Path) -> Path:
    path = tmp_path / "data" / "diabetes.csv"
    path.parent.mkdir()
    path.write_bytes(diabetes_csv.read_bytes())
    return path


@pytest.fixture
def context(tmp_path: Path, data_file: Path) -> MockContext:
    """A context with the project's invoke.yaml, its data and outputs moved under tmp_path."""
    config = invoke_config()
    config["project"]["data_path"] = str(data_file)
    config["azure"]["output_dir"] = str(tmp_path / "outputs")
    return MockContext(config=Config(overrides=config), run=Result(exited=0))


def ran(context: MockContext) -> list[str]:
    [call] = context.run.call_args_list
    return shlex.split(call.args[0])


@pytest.mark.parametrize(
    ("flags", "changed", "appended"),
    [
        ({}, {}, []),
        (
            {"learning_rate": 0.1, "max_depth": 5},
            {"--learning-rate": "0.1", "--max-depth": "5"},
            [],
        ),
        ({"experiment": "trial"}, {"--experiment": "trial"}, []),
        ({"param": ["l2_regularization=0.5"]}, {}, ["--param", "l2_regularization=0.5"]),
        ({"no_register": True}, {}, ["--no-register"]),
    ],
)
def test_local_train_runs_the_job_spec_command_with_local_values(
    tasks, context, data_file, flags, changed, appended
):
    tasks.train(context, **flags)

    expected = {
        "--data": str(data_file),
        "--target": "target",
        "--task": "auto",
        "--features": "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6",
        "--ignore": "none",
        "--experiment": "diabetes-model",
        "--model-name": "diabetes-regressor",
        "--test-size": "0.2",
        "--random-state": "42",
        "--learning-rate": "0.05",
        "--max-iter": "200",
        "--max-depth": "3",
        **changed,
    }
    argv = [sys.executable, "-m", "diabetes_model.train"]
    argv += [part for pair in expected.items() for part in pair] + appended
    assert ran(context) == argv
    assert context.run.call_args.kwargs["env"]["MLFLOW_TRACKING_URI"]


def test_local_and_remote_training_run_one_command_line(tasks, context, cloud, data_file):
    flags = {"learning_rate": 0.2, "param": ["l2_regularization=0.5"], "no_register": True}
    tasks.train(context, **flags)
    local = ran(context)

    tasks.train(context, remote=True, **flags)

    [name] = cloud.jobs_created
    job = cloud.job(name)["properties"]
    received = {k: v["value"] for k, v in job["inputs"].items() if v["jobInputType"] == "literal"}
    remote = job_specs.resolve_command(job["command"], received, {"data": str(data_file)})
    assert [sys.executable, *remote[1:]] == local


def test_train_dry_run_writes_the_resolved_job_and_contacts_nothing(
    tasks, context, cloud, tmp_path, capsys
):
    from azure.ai.ml import load_job

    tasks.train(context, remote=True, dry_run=True, max_iter=50)

    assert cloud.requests == []
    job = load_job(source=tmp_path / "outputs" / "train-job.yml")
    assert job.inputs["max_iter"]._data == 50
    inputs = {name: getattr(value, "_data", value) for name, value in job.inputs.items()}
    # The task and the columns reach the job as the project's settings give them.
    assert inputs["task"] == "auto"
    assert inputs["features"] == "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6"
    assert inputs["ignore"] == "none"
    assert "--features ${{inputs.features}}" in job.command
    assert "nothing was submitted" in capsys.readouterr().out


def test_sweep_dry_run_writes_a_sweep_job_that_loads(tasks, context, cloud, tmp_path):
    from azure.ai.ml import load_job

    tasks.sweep(context, remote=True, dry_run=True)

    sweep = load_job(source=tmp_path / "outputs" / "sweep-job.yml")
    assert type(sweep).__name__ == "SweepJob"
    assert sweep.trial.environment.startswith("diabetes-model-env:")
    assert cloud.requests == []


def test_remote_sweep_submits_search_space_objective_and_limits(tasks, context, cloud):
    tasks.sweep(context, remote=True, job_name="sweep-1")

    job = cloud.job("sweep-1")["properties"]
    spec = yaml.safe_load((ROOT / "azureml" / "sweep.yml").read_text())
    assert job["jobType"] == "Sweep"
    assert job["objective"] == {"goal": "minimize", "primaryMetric": "test_rmse"}
    assert set(job["searchSpace"]) == set(spec["search_space"])
    assert job["limits"]["maxTotalTrials"] == spec["limits"]["max_total_trials"]
    assert job["limits"]["maxConcurrentTrials"] == spec["limits"]["max_concurrent_trials"]
    assert job["earlyTermination"]["policyType"] == "Bandit"
    assert "--learning-rate ${{search_space.learning_rate}}" in job["trial"]["command"]
    assert job["trial"]["environmentId"].split("/")[-3] == "diabetes-model-env"
    assert "/codes/" in job["trial"]["codeId"]
    assert job["inputs"]["data"]["uri"].split("/")[-3] == "diabetes-model-data"


def test_a_failed_remote_job_ends_the_task_with_a_non_zero_exit(tasks, context, cloud):
    cloud.job_statuses = ["Queued", "Running", "Failed"]
    cloud.job_error = "ValueError: Input contains NaN"

    with pytest.raises(Exit) as ended:
        tasks.train(context, remote=True, stream=True)
    assert ended.value.code == 1
    assert "ended Failed" in str(ended.value.message)


def test_data_upload_registers_the_data_asset_once(tasks, context, cloud, data_file, capsys):
    tasks.data(context, output=str(data_file), upload=True)
    tasks.data(context, output=str(data_file), upload=True)

    assert list(cloud.assets("data")) == [f"diabetes-model-data:{assets.file_hash(data_file)}"]
    assert "(reused)" in capsys.readouterr().out


def test_compute_creates_a_cluster_that_scales_to_zero(tasks, context, cloud):
    tasks.compute(context)

    cluster = cloud.get("computes/cpu-cluster")["properties"]["properties"]
    assert cluster["scaleSettings"]["minNodeCount"] == 0
    assert cluster["scaleSettings"]["nodeIdleTimeBeforeScaleDown"] == "PT15M"


def test_register_adds_the_jobs_model_with_lineage_tags(tasks, context, cloud, data_file):
    tasks.train(context, remote=True, stream=True, job_name="train-1")

    tasks.register(context, job="train-1")

    [(name, model)] = cloud.assets("models").items()
    assert name == "diabetes-regressor:1"
    assert model["properties"]["modelType"] == "mlflow_model"
    assert model["properties"]["modelUri"] == "runs:/train-1/model"
    tags = model["properties"]["tags"]
    assert tags["job"] == "train-1"
    assert tags["commit"] == cloud.job("train-1")["properties"]["tags"]["commit"]
    assert tags["data"] == f"azureml:diabetes-model-data:{assets.file_hash(data_file)}"
    assert tags["environment"].startswith("azureml:diabetes-model-env:")


def test_register_refuses_a_job_that_has_not_completed(tasks, context, cloud):
    tasks.train(context, remote=True, job_name="train-2")  # submitted, not waited for

    with pytest.raises(Exit, match="not Completed"):
        tasks.register(context, job="train-2")
    assert cloud.assets("models") == {}


def test_register_without_a_job_says_how_to_use_it(tasks, context):
    with pytest.raises(Exit, match=r"invoke register --job NAME"):
        tasks.register(context)


def test_a_local_sweep_logs_trials_as_child_runs_and_reports_the_best(tasks, context, capsys):
    from mlflow import MlflowClient

    tasks.sweep(context, trials=2)

    client = MlflowClient()
    [experiment] = [e for e in client.search_experiments() if e.name == "diabetes-model"]
    runs = client.search_runs([experiment.experiment_id])
    [parent] = [r for r in runs if "sweep.best_run_id" in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 2
    best = min(children, key=lambda r: r.data.metrics["test_rmse"])
    assert parent.data.tags["sweep.best_run_id"] == best.info.run_id
    assert parent.data.metrics["best_test_rmse"] == best.data.metrics["test_rmse"]
    assert all(r.info.status == "FINISHED" for r in [parent, *children])
    assert "best: trial" in capsys.readouterr().out
