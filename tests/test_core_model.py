"""Hyperparameters, the pipeline and its metrics."""

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.model_selection import train_test_split

from diabetes_model.core.data import split_xy
from diabetes_model.core.metrics import classification_metrics, regression_metrics, roc_auc
from diabetes_model.core.model import (
    build_pipeline,
    known_hyperparameters,
    parse_param_pairs,
    parse_value,
)
from diabetes_model.core.schema import infer_schema
from diabetes_model.errors import UserError


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("0.25", 0.25),
        ("true", True),
        ("False", False),
        ("none", None),
        ("squared_error", "squared_error"),
    ],
)
def test_param_values_are_read_as_the_type_they_look_like(text, value):
    assert parse_value(text) == value
    assert type(parse_value(text)) is type(value)


def test_param_pairs_become_estimator_parameters():
    assert parse_param_pairs(["max_bins=50", "l2-regularization=0.5"]) == {
        "max_bins": 50,
        "l2_regularization": 0.5,
    }


@pytest.mark.parametrize("pair", ["max_iter=5", "max_iter=abc", "learning-rate=0.1"])
def test_a_hyperparameter_with_a_flag_of_its_own_is_refused_through_param(pair):
    """Given both ways, one value would silently win; the error names the flag to use."""
    flag = "--" + pair.split("=")[0].replace("_", "-")
    with pytest.raises(UserError, match=rf"has its own flag; use {flag} "):
        parse_param_pairs([pair])


def test_a_param_given_twice_is_refused():
    with pytest.raises(UserError, match="given twice"):
        parse_param_pairs(["max_bins=50", "max_bins=60"])


def test_an_unknown_param_is_refused_with_the_known_names():
    with pytest.raises(UserError, match=r"unknown hyperparameter 'n_trees'.*max_iter"):
        parse_param_pairs(["n_trees=5"])


def test_a_param_without_a_value_is_refused():
    with pytest.raises(UserError, match=r"name=value"):
        parse_param_pairs(["max_bins"])


def test_known_hyperparameters_are_the_estimators():
    assert {"learning_rate", "max_iter", "max_depth", "l2_regularization"} <= set(
        known_hyperparameters()
    )


def diabetes(path):
    import pandas as pd

    frame = pd.read_csv(path)
    schema = infer_schema(frame, "target")
    return (*split_xy(frame, schema), schema)


def test_the_pipeline_beats_predicting_the_mean(diabetes_csv):
    features, target, schema = diabetes(diabetes_csv)
    x_train, x_test, y_train, y_test = train_test_split(features, target, random_state=0)
    model = build_pipeline(schema, {}, random_state=0).fit(x_train, y_train)
    dummy = DummyRegressor().fit(x_train, y_train)
    ours = regression_metrics(y_test.to_numpy(), model.predict(x_test))
    baseline = regression_metrics(y_test.to_numpy(), dummy.predict(x_test))
    assert ours.rmse < 0.9 * baseline.rmse
    assert ours.r2 > 0.1


def test_the_pipeline_predicts_rows_with_missing_values(diabetes_csv):
    features, target, schema = diabetes(diabetes_csv)
    model = build_pipeline(schema, {"max_iter": 20}, random_state=0).fit(features, target)
    holes = features.head(3).copy()
    holes.iloc[0, 0] = np.nan
    holes.iloc[1, :] = np.nan
    assert np.isfinite(model.predict(holes)).all()


def test_hyperparameters_reach_the_estimator(diabetes_csv):
    schema = diabetes(diabetes_csv)[2]
    pipeline = build_pipeline(schema, {"max_iter": 7, "learning_rate": 0.3}, random_state=1)
    params = pipeline.named_steps["model"].get_params()
    assert (params["max_iter"], params["learning_rate"], params["random_state"]) == (7, 0.3, 1)


def test_metrics_match_hand_computed_values():
    metrics = regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]))
    assert metrics.rmse == pytest.approx((4 / 3) ** 0.5)
    assert metrics.mae == pytest.approx(2 / 3)
    assert metrics.r2 == pytest.approx(1 - 4 / 2)
    assert metrics.as_dict("test") == {
        "test_rmse": metrics.rmse,
        "test_mae": metrics.mae,
        "test_r2": metrics.r2,
    }


def penguins(rows: int = 300):
    """A table of the kind people bring: text categories with gaps, a boolean, a label."""
    import pandas as pd

    rng = np.random.default_rng(3)
    species = rng.choice(["Adelie", "Chinstrap", "Gentoo"], rows)
    island = np.where(species == "Gentoo", "Biscoe", rng.choice(["Dream", "Torgersen"], rows))
    mass = np.where(species == "Gentoo", 5000.0, 3700.0) + rng.normal(0, 300, rows)
    frame = pd.DataFrame({"island": island, "mass": mass, "male": rng.random(rows) < 0.5})
    frame.loc[::17, "island"] = None
    frame.loc[::23, "mass"] = np.nan
    frame["species"] = species
    return frame


def test_a_classifier_learns_from_text_categories_and_scores_an_unseen_one():
    frame = penguins()
    schema = infer_schema(frame, "species")
    features, labels = split_xy(frame, schema)
    model = build_pipeline(schema, {"max_iter": 50}, random_state=0).fit(features, labels)
    unseen = features.head(3).copy()
    unseen["island"] = ["Atlantis", None, "Dream"]
    unseen["male"] = [None, True, False]
    assert set(model.predict(unseen)) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert model.predict_proba(unseen).shape == (3, 3)
    assert (model.predict(features) == labels).mean() > 0.6


def test_a_parameter_of_the_other_task_is_refused_by_name():
    frame = penguins()
    schema = infer_schema(frame, "mass", features=["island"], task="regression")
    with pytest.raises(UserError, match=r"class_weight is not a parameter of the regression model"):
        build_pipeline(schema, {"class_weight": "balanced"}, random_state=0)


def test_classification_metrics_match_hand_computed_values():
    classes = ["a", "b"]
    truth = ["a", "a", "b", "b"]
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8]])
    predicted = ["a", "b", "b", "b"]
    metrics = classification_metrics(truth, predicted, proba, classes)
    assert metrics["accuracy"] == pytest.approx(0.75)
    assert metrics["balanced_accuracy"] == pytest.approx(0.75)
    assert metrics["roc_auc"] == pytest.approx(1.0)  # every b above every a
    assert metrics["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.4, 0.7, 0.8])))


def test_roc_auc_of_several_classes_skips_a_class_the_test_rows_lack():
    classes = ["a", "b", "c"]
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])
    assert roc_auc(["a", "b", "a", "b"], proba, classes) == pytest.approx(1.0)
    assert np.isnan(roc_auc(["a", "a"], proba[:2], classes))
