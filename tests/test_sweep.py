"""The local sweep's pure parts: drawing trials from an Azure ML search space, picking the best."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from diabetes_model.errors import UserError
from diabetes_model.sweep import Trial, best_trial, sample_trials

SWEEP = Path(__file__).resolve().parents[1] / "azureml" / "sweep.yml"


def test_trials_stay_inside_the_spec_search_space_and_repeat_with_the_seed():
    space = yaml.safe_load(SWEEP.read_text())["search_space"]
    trials = sample_trials(space, 50, seed=7)

    assert trials == sample_trials(space, 50, seed=7)
    assert trials != sample_trials(space, 50, seed=8)
    low, high = (math.exp(space["learning_rate"][k]) for k in ("min_value", "max_value"))
    for trial in trials:
        assert low <= trial["learning_rate"] <= high
        assert trial["max_iter"] in space["max_iter"]["values"]
        assert trial["max_depth"] in space["max_depth"]["values"]


def test_quantized_and_integer_distributions_follow_azure_ml_semantics():
    space = {
        "q": {"type": "quniform", "min_value": 0, "max_value": 10, "q": 2},
        "n": {"type": "randint", "upper": 3},
    }
    for trial in sample_trials(space, 30, seed=1):
        assert trial["q"] % 2 == 0 and 0 <= trial["q"] <= 10
        assert trial["n"] in (0, 1, 2)


def test_an_unknown_distribution_is_refused():
    with pytest.raises(UserError, match="search space type 'gaussian'"):
        sample_trials({"x": {"type": "gaussian"}}, 1, seed=0)


def test_the_best_trial_follows_the_goal_and_skips_failed_trials():
    trials = [
        Trial(1, {}, "a", 3.0),
        Trial(2, {}, "b", None),
        Trial(3, {}, "c", 1.0),
        Trial(4, {}, "d", float("nan")),
    ]
    assert best_trial(trials, "minimize").run_id == "c"
    assert best_trial(trials, "maximize").run_id == "a"
    assert best_trial([Trial(1, {}, "a", None)], "minimize") is None


def test_a_negative_trial_count_is_refused_before_any_run_exists(tmp_path, isolated_mlflow):
    """It used to end 'see the trials' errors above' with nothing above, and a FAILED parent run."""
    from mlflow import MlflowClient
    from projects import make_project

    from diabetes_model.sweep import run_sweep

    with pytest.raises(UserError, match=r"--trials -1 must be at least 1"):
        run_sweep(make_project(tmp_path), trials=-1, say=lambda line: None)
    assert (
        MlflowClient(isolated_mlflow).search_experiments(filter_string="name = 'diabetes-model'")
        == []
    )


@pytest.fixture
def classification_project(tmp_path):
    from projects import make_project
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})
    frame.to_csv(tmp_path / "cancer.csv", index=False)
    settings = {"data_path": str(tmp_path / "cancer.csv"), "target": "label", "features": []}
    return make_project(tmp_path, project=settings)


def test_a_classification_sweep_maximizes_roc_auc_locally_and_remotely(
    classification_project, isolated_mlflow, tmp_path
):
    from azure.ai.ml import load_job

    from diabetes_model.azure import jobs
    from diabetes_model.sweep import run_sweep

    said: list[str] = []
    best = run_sweep(classification_project, trials=2, say=said.append)
    assert all("test_roc_auc" in line for line in said if line.startswith("trial "))
    scores = [float(line.rsplit(" ", 1)[1]) for line in said if line.startswith("trial ")]
    assert best.metric == pytest.approx(max(scores), abs=1e-3)

    submission = jobs.Submission(classification_project.specs.sweep)
    jobs.submit(classification_project, submission, dry_run=True, say=said.append)
    sweep = load_job(source=tmp_path / "outputs" / "azureml" / "sweep-job.yml")
    assert (sweep.objective.primary_metric, sweep.objective.goal) == ("test_roc_auc", "maximize")
    inputs = {name: getattr(value, "_data", value) for name, value in sweep.inputs.items()}
    assert (inputs["target"], inputs["features"], inputs["task"]) == ("label", "all", "auto")


def test_ctrl_c_in_a_trial_ends_the_sweep_and_that_trial_killed_and_keeps_the_others(
    tmp_path, isolated_mlflow, diabetes_csv
):
    from mlflow import MlflowClient
    from projects import make_project

    from diabetes_model.errors import Interrupted
    from diabetes_model.sweep import run_sweep
    from diabetes_model.train import train_and_log

    trained = []

    def second_trial_interrupted(config, uri, run_id=None):
        if trained:
            raise KeyboardInterrupt  # before the trial's own training began
        trained.append(run_id)
        return train_and_log(config, uri, run_id=run_id)

    project = make_project(tmp_path, project={"data_path": str(diabetes_csv)})
    with pytest.raises(Interrupted, match=r"^interrupted in trial 2 of 3: .* the 1 trial"):
        run_sweep(project, trials=3, say=lambda line: None, train=second_trial_interrupted)

    client = MlflowClient(isolated_mlflow)
    runs = client.search_runs([client.get_experiment_by_name("diabetes-model").experiment_id])
    status = {run.info.run_name: run.info.status for run in runs}
    assert status == {"sweep": "KILLED", "trial 1": "FINISHED", "trial 2": "KILLED"}
