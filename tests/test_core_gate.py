"""The gate: a candidate replaces the champion only when it beats the trivial baseline and is not
worse than the champion beyond the tolerance, on the task's primary metric."""

import math

import pytest

from diabetes_model.core.gate import Decision, decide, trivial_score
from diabetes_model.errors import UserError


def test_with_no_champion_a_model_that_beats_the_baseline_passes():
    decision = decide("regression", candidate=55.0, baseline=73.0, tolerance=0.01)

    assert decision.promote
    assert decision.metric == "test_rmse"
    assert "no champion yet" in decision.reason
    assert decision.margin is None


@pytest.mark.parametrize(
    ("task", "candidate", "baseline"),
    [("regression", 73.0, 73.0), ("regression", 80.0, 73.0), ("classification", 0.5, 0.5)],
)
def test_a_model_no_better_than_the_trivial_one_is_kept_out_even_without_a_champion(
    task, candidate, baseline
):
    decision = decide(task, candidate=candidate, baseline=baseline, tolerance=0.5)

    assert not decision.promote
    assert "no better than predicting the" in decision.reason


def test_an_equal_candidate_passes_even_with_no_tolerance():
    decision = decide("regression", 55.0, 73.0, 0.0, champion=55.0, champion_version="3")

    assert decision.promote
    assert decision.margin == 0
    assert decision.reason.endswith("equal")


@pytest.mark.parametrize(
    ("task", "candidate", "champion", "promote", "words"),
    [
        ("regression", 54.0, 55.0, True, "1.8% better"),  # lower RMSE is better
        ("regression", 55.5, 55.0, True, "0.9% worse, within the 1.0% tolerance"),
        ("regression", 56.0, 55.0, False, "1.8% worse, beyond the 1.0% tolerance"),
        ("classification", 0.80, 0.79, True, "1.3% better"),  # higher ROC AUC is better
        ("classification", 0.70, 0.79, False, "11.4% worse, beyond"),
    ],
)
def test_the_candidate_is_judged_against_the_champion_in_the_direction_of_the_metric(
    task, candidate, champion, promote, words
):
    baseline = 73.0 if task == "regression" else 0.5
    decision = decide(task, candidate, baseline, 0.01, champion=champion, champion_version="2")

    assert decision.promote is promote
    assert words in decision.reason
    assert "champion version 2's" in decision.reason


def test_the_losing_metric_and_its_margin_are_named():
    decision = decide("regression", 71.2, 73.0, 0.01, champion=55.3, champion_version="4")

    assert not decision.promote
    assert decision.reason.startswith("test_rmse 71.2 vs champion version 4's 55.3: 28.8% worse")
    assert decision.margin == pytest.approx((71.2 - 55.3) / 55.3)


def test_an_undefined_score_never_passes_but_an_undefined_champion_is_no_obstacle():
    assert not decide("classification", math.nan, 0.5, 0.01).promote
    assert decide("classification", 0.8, 0.5, 0.01, champion=math.nan, champion_version="1").promote


def test_a_perfect_champion_is_only_matched_not_beaten_by_a_tolerance():
    assert decide("regression", 0.0, 10.0, 0.5, champion=0.0, champion_version="1").promote
    assert not decide("regression", 0.1, 10.0, 0.5, champion=0.0, champion_version="1").promote


@pytest.mark.parametrize("tolerance", [-0.1, 1.0, math.nan])
def test_a_tolerance_outside_zero_to_one_is_refused_with_where_to_fix_it(tolerance):
    with pytest.raises(UserError, match=r"pipeline\.tolerance in invoke\.yaml"):
        decide("regression", 55.0, 73.0, tolerance)


def test_a_decision_survives_its_round_trip_through_json():
    import json

    decision = decide("regression", 56.0, 73.0, 0.01, champion=55.0, champion_version="2")

    assert Decision.from_dict(json.loads(json.dumps(decision.as_dict()))) == decision


def test_a_champion_that_cannot_score_the_test_rows_keeps_the_candidate_out_until_overridden():
    decision = decide(
        "regression", 55.0, 73.0, 0.01, champion_version="2", champion_error="no column 'bmi'"
    )

    assert not decision.promote
    assert "champion version 2 cannot score these test rows (no column 'bmi')" in decision.reason
    assert "--promote-anyway" in decision.reason


def test_the_trivial_score_is_the_training_mean_or_the_class_shares_on_the_test_rows():
    assert trivial_score("regression", [1.0, 3.0], [2.0, 4.0]) == pytest.approx(math.sqrt(2))
    assert trivial_score("classification", ["a", "b", "b"], ["a", "b"], ["a", "b"]) == 0.5
