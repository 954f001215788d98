"""Drift statistics on small frames, no files."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from diabetes_model.core.drift import bin_edges, compare, psi


def normal(n: int, loc: float = 0.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(loc, 1.0, n)


def test_psi_of_a_sample_against_itself_is_zero():
    sample = normal(500)
    assert psi(sample, sample) == pytest.approx(0.0, abs=1e-12)


def test_psi_of_two_samples_of_one_distribution_is_small():
    assert psi(normal(2000, seed=1), normal(2000, seed=2)) < 0.05


def test_psi_grows_with_the_shift():
    reference = normal(2000, seed=1)
    values = [psi(reference, normal(2000, loc=shift, seed=2)) for shift in (0.25, 0.5, 1.0)]
    assert values == sorted(values) and values[-1] > 0.2


def test_psi_matches_the_formula_on_a_hand_computed_case():
    # Reference split evenly over two bins (edge at 1.5); current puts 3 of 4 in the upper bin.
    reference, current = [1, 1, 2, 2], [1, 2, 2, 2]
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert psi(reference, current, bins=2) == pytest.approx(expected)


def test_a_binary_feature_compares_its_two_shares():
    reference, current = [0.0, 1.0] * 50, [0.0] * 80 + [1.0] * 20
    expected = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert psi(reference, current) == pytest.approx(expected)
    assert len(bin_edges(np.array(reference))) <= 3  # repeated quantiles merge


def test_psi_ignores_missing_values_and_refuses_an_empty_side():
    assert psi([1.0, 2.0, np.nan, 3.0], [1.0, 2.0, 3.0]) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="at least one value"):
        psi([1.0, 2.0], [np.nan])


def frame(loc_bmi: float, seed: int, n: int = 600) -> pd.DataFrame:
    return pd.DataFrame(
        {"age": normal(n, seed=seed), "bmi": normal(n, loc=loc_bmi, seed=seed + 50)}
    )


def test_compare_flags_only_the_shifted_feature():
    result = compare(frame(0.0, seed=1), frame(1.0, seed=2), ["age", "bmi"])
    assert result.drifted == ["bmi"]
    bmi = result.features[1]
    assert bmi.psi > 0.2 and bmi.pvalue < 1e-6 and bmi.test == "KS" and bmi.current_rows == 600


def test_compare_flags_nothing_between_samples_of_one_distribution():
    result = compare(frame(0.0, seed=1), frame(0.0, seed=2), ["age", "bmi"])
    assert result.drifted == []


def test_a_high_psi_from_a_small_sample_alone_is_not_drift():
    # 40 rows of the training distribution: PSI's sampling noise passes 0.2, KS sees no shift.
    reference = pd.DataFrame({"x": normal(442, seed=1)})
    small = pd.DataFrame({"x": normal(40, seed=3)})
    (result,) = compare(reference, small, ["x"]).features
    assert result.psi > 0.2 and result.pvalue > 0.1
    assert not result.drifted


def test_a_stricter_threshold_flags_a_smaller_shift():
    reference, current = frame(0.0, seed=1), frame(0.3, seed=2)
    assert "bmi" not in compare(reference, current, ["bmi"], psi_threshold=0.5, alpha=1e-12).drifted
    assert "bmi" in compare(reference, current, ["bmi"], psi_threshold=0.05).drifted


def test_compare_reports_plain_data_for_json():
    data = compare(frame(0.0, seed=1), frame(1.0, seed=2), ["bmi"]).to_dict()
    assert data["drifted"] == ["bmi"] and data["features"][0]["feature"] == "bmi"


def test_compare_refuses_features_it_does_not_have():
    with pytest.raises(ValueError, match="features missing from the data: s6"):
        compare(frame(0.0, 1), frame(0.0, 2), ["bmi", "s6"])


def test_a_category_whose_shares_move_drifts_and_its_new_categories_are_named():
    reference = pd.DataFrame({"island": ["Biscoe", "Dream", "Torgersen"] * 200})
    current = pd.DataFrame({"island": ["Biscoe"] * 150 + ["Atlantis"] * 40 + [None] * 10})
    (island,) = compare(reference, current, ["island"], categorical=["island"]).features
    assert (island.kind, island.test) == ("categorical", "chi-squared")
    assert island.drifted and island.pvalue < 1e-6
    assert island.new_categories == ("Atlantis",)
    assert island.current_rows == 190  # a missing value is not a category


def test_categories_drawn_like_the_training_data_do_not_drift():
    rng = np.random.default_rng(0)
    values = np.array(["a", "b", "c"])
    reference = pd.DataFrame({"c": rng.choice(values, 900, p=[0.5, 0.3, 0.2])})
    current = pd.DataFrame({"c": rng.choice(values, 300, p=[0.5, 0.3, 0.2])})
    (feature,) = compare(reference, current, ["c"], categorical=["c"]).features
    assert not feature.drifted and feature.psi < 0.05 and feature.new_categories == ()


def test_category_psi_matches_the_formula_on_a_hand_computed_case():
    from diabetes_model.core.drift import category_psi

    value, (ref_counts, cur_counts) = category_psi(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert value == pytest.approx(expected, abs=1e-3)  # the empty "new" bucket adds ~1e-4
    assert (list(ref_counts), list(cur_counts)) == ([2, 2, 0], [1, 3, 0])
