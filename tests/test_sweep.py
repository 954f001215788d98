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
    assert MlflowClient(isolated_mlflow).search_experiments(filter_string="name = 'diabetes'") == []
