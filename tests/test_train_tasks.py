"""Your data, your problem: training takes any table, regression or classification, with text
categories and missing values, and registers only a model that beats a trivial baseline."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from example_tables import bundled, penguins
from mlflow import MlflowClient

from diabetes_model import train


def run_training(tmp_path: Path, frame: pd.DataFrame, target: str, *flags: str, suffix=".csv"):
    tmp_path.mkdir(parents=True, exist_ok=True)
    data = tmp_path / f"table{suffix}"
    frame.to_parquet(data) if suffix == ".parquet" else frame.to_csv(data, index=False)
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(out):
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        code = train.main(["--data", str(data), "--target", target, "--max-iter", "60", *flags])
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("diabetes-model").experiment_id])
    return {"code": code, "out": out.getvalue(), "client": client, "uri": uri, "runs": runs}


def registered_model(result):
    import mlflow

    mlflow.set_tracking_uri(result["uri"])
    return mlflow.pyfunc.load_model("models:/diabetes-regressor/1")


CLASSIFICATION_METRICS = {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss"}


@pytest.mark.parametrize(
    ("frame", "classes"),
    [
        (bundled("breast_cancer", target_names=True), ["benign", "malignant"]),
        (bundled("wine"), [0, 1, 2]),  # whole-number classes: auto picks classification too
    ],
    ids=["binary-text-labels", "multiclass-integer-labels"],
)
def test_a_classifier_is_trained_scored_and_registered_with_label_output(tmp_path, frame, classes):
    result = run_training(tmp_path, frame, "label")
    assert result["code"] == 0, result["out"]
    assert "task: classification (auto: target 'label' holds" in result["out"]
    [run] = result["runs"]
    assert {f"test_{m}" for m in CLASSIFICATION_METRICS} <= set(run.data.metrics)
    assert run.data.metrics["test_roc_auc"] > 0.9
    assert run.data.metrics["test_baseline_roc_auc"] == pytest.approx(0.5)
    assert run.data.tags["task"] == "classification"
    model = registered_model(result)
    [output] = model.metadata.get_output_schema().inputs
    assert output.name == "label"
    features = frame.drop(columns=["label"]).head(4).astype("float64")
    assert set(model.predict(features)) <= set(classes)
    raw = model.get_raw_model()  # what serving asks for class probabilities
    assert list(raw.classes_) == classes
    assert raw.predict_proba(features).shape == (4, len(classes))


def test_text_categories_and_missing_values_train_from_csv_and_parquet_alike(tmp_path):
    frame = penguins()
    from_csv = run_training(tmp_path / "csv", frame, "species")
    from_parquet = run_training(tmp_path / "parquet", frame, "species", suffix=".parquet")
    for result in (from_csv, from_parquet):
        assert result["code"] == 0, result["out"]
        assert "island (categorical)" in result["out"] and "male (boolean)" in result["out"]
    model = registered_model(from_csv)
    schema = {c.name: c.type.name for c in model.metadata.get_input_schema().inputs}
    assert schema == {
        "island": "string",
        "bill_mm": "double",
        "mass_g": "double",
        "male": "boolean",
    }
    rows = pd.DataFrame(
        {
            "island": ["Atlantis", None],  # a category training never saw, and a missing one
            "bill_mm": [38.0, np.nan],
            "mass_g": [3600.0, 5100.0],
            "male": [True, None],
        }
    ).astype({"island": object, "male": object})
    assert set(model.predict(rows)) <= {"Adelie", "Chinstrap", "Gentoo"}
    [csv_run], [parquet_run] = from_csv["runs"], from_parquet["runs"]
    assert csv_run.data.metrics["test_accuracy"] == parquet_run.data.metrics["test_accuracy"]


def test_the_diagnostics_of_a_classifier_are_a_confusion_matrix_and_roc_curves(tmp_path):
    result = run_training(tmp_path, bundled("iris", target_names=True), "label")
    [run] = result["runs"]
    names = [item.path for item in result["client"].list_artifacts(run.info.run_id)]
    assert "diagnostics.png" in names


def test_a_model_no_better_than_the_mean_is_logged_but_not_registered(tmp_path, capsys):
    rng = np.random.default_rng(0)
    noise = pd.DataFrame({"x": rng.normal(size=12), "target": rng.normal(size=12)})
    result = run_training(tmp_path, noise, "target")
    assert result["code"] == 1
    [run] = result["runs"]
    assert run.info.status == "FINISHED"
    rmse, baseline = run.data.metrics["test_rmse"], run.data.metrics["test_baseline_rmse"]
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: not registered: test rmse {rmse:.4g} is no better than predicting the mean "
        f"({baseline:.4g}); improve the data or the model, or pass --register-anyway"
    )
    assert result["client"].search_registered_models() == []

    forced = run_training(tmp_path, noise, "target", "--register-anyway")
    assert forced["code"] == 0
    assert len(forced["client"].search_model_versions("name='diabetes-regressor'")) == 1


def test_columns_outside_the_configured_features_are_ignored_and_said_so(tmp_path):
    frame = bundled("diabetes").assign(patient_id=range(442), zzz=1.0)
    features = "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6"
    result = run_training(tmp_path, frame, "label", "--features", features)
    assert result["code"] == 0
    assert "warning: column 'patient_id' left out: not in project.features" in result["out"]
    schema = registered_model(result).metadata.get_input_schema()
    assert schema.input_names() == features.split(",")


def test_the_training_data_is_a_dataset_input_of_the_run(tmp_path):
    result = run_training(tmp_path, bundled("diabetes"), "label")
    [run] = result["runs"]
    [dataset_input] = run.inputs.dataset_inputs
    assert dataset_input.dataset.name == "table"
    assert dataset_input.dataset.digest == run.data.tags["data.sha256"][:16]
    assert [tag.value for tag in dataset_input.tags] == ["training"]
    assert "bmi" in dataset_input.dataset.schema


def test_the_experiment_says_it_is_for_model_training(tmp_path):
    result = run_training(tmp_path, bundled("diabetes"), "label")
    experiment = result["client"].get_experiment_by_name("diabetes-model")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert "workflowType=machine_learning" in result["out"]
