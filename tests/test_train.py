"""The training entry point: what one run logs and registers, and how bad input ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from diabetes_model import train
from diabetes_model.dataset import file_sha256
from diabetes_model.settings import DIABETES_FEATURES


@pytest.fixture(scope="module")
def trained(diabetes_csv: Path, tmp_path_factory: pytest.TempPathFactory):
    """One real training run of the job's command into its own store, shared by the assertions
    below."""
    import io
    from contextlib import redirect_stdout

    uri = f"sqlite:///{tmp_path_factory.mktemp('store') / 'mlflow.db'}"
    argv = ["--data", str(diabetes_csv), "--experiment", "tests", "--max-iter", "60"]
    argv += ["--param", "l2_regularization=0.5"]
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(out):
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        assert train.main(argv) == 0
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    [run] = client.search_runs([client.get_experiment_by_name("tests").experiment_id])
    return {"client": client, "run": run, "stdout": out.getvalue(), "uri": uri}


def test_the_run_finishes_with_parameters_and_train_and_test_metrics(trained):
    run = trained["run"]
    assert run.info.status == "FINISHED"
    assert run.data.params["max_iter"] == "60"
    assert run.data.params["l2_regularization"] == "0.5"
    assert run.data.params["learning_rate"] == "0.05"  # the default is logged too
    for split in ("train", "test"):
        assert {f"{split}_rmse", f"{split}_mae", f"{split}_r2"} <= set(run.data.metrics)
    assert run.data.metrics["test_r2"] > 0.1
    assert run.data.metrics["train_rmse"] < run.data.metrics["test_rmse"] * 1.5


def test_the_run_records_data_and_code_lineage(trained, diabetes_csv):
    import subprocess

    tags = trained["run"].data.tags
    assert tags["data.sha256"] == file_sha256(diabetes_csv)
    assert tags["data.rows"] == "442"
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:  # the tests run in a git checkout: the commit is HEAD's
        assert tags["git.commit"] == head.stdout.strip()
    else:
        assert tags["git.commit"] == "uncommitted"


def test_the_diagnostic_plot_is_logged(trained):
    names = [item.path for item in trained["client"].list_artifacts(trained["run"].info.run_id)]
    assert "diagnostics.png" in names


def test_a_new_registered_version_carries_the_lineage(trained):
    client = trained["client"]
    [version] = client.search_model_versions("name='diabetes-regressor'")
    assert version.run_id == trained["run"].info.run_id
    assert version.tags["data.sha256"] == trained["run"].data.tags["data.sha256"]
    assert version.tags["git.commit"] == trained["run"].data.tags["git.commit"]


def test_the_registered_model_reloads_and_predicts_its_input_example(trained):
    import mlflow
    import pandas as pd

    mlflow.set_tracking_uri(trained["uri"])
    model = mlflow.pyfunc.load_model("models:/diabetes-regressor/1")
    schema = model.metadata.get_input_schema()
    assert schema.input_names() == list(DIABETES_FEATURES)
    assert {t.name for t in schema.input_types()} == {"double"}
    example = (
        pd.DataFrame(model.input_example)
        if not isinstance(model.input_example, pd.DataFrame)
        else model.input_example
    )
    predictions = model.predict(example)
    assert len(predictions) == len(example) == 5


def test_the_model_pins_exact_requirements(trained):
    import mlflow
    from mlflow.artifacts import download_artifacts

    mlflow.set_tracking_uri(trained["uri"])
    folder = Path(download_artifacts("models:/diabetes-regressor/1"))
    requirements = (folder / "requirements.txt").read_text().split()
    import sklearn

    assert f"scikit-learn=={sklearn.__version__}" in requirements
    assert all("==" in line for line in requirements)


def test_it_prints_the_run_its_metrics_and_how_to_open_them(trained):
    out = trained["stdout"]
    assert trained["run"].info.run_id in out
    assert "test_rmse" in out
    assert "registered model 'diabetes-regressor' version 1" in out
    assert "invoke ui" in out and "http://localhost:5000/#/experiments/" in out


def test_train_and_log_returns_the_run_it_logged_without_printing(trained, diabetes_csv, capsys):
    """The typed call that notebooks, the sweep and pipeline steps make: no argv, nothing printed."""
    config = train.TrainingConfig(
        data=diabetes_csv, experiment="api", hyperparameters={"max_iter": 30}, register=False
    )
    result = train.train_and_log(config, trained["uri"])

    logged = trained["client"].get_run(result.run_id)
    assert logged.info.status == "FINISHED"
    assert logged.info.experiment_id == result.experiment_id
    assert logged.data.params["max_iter"] == "30"
    assert result.metrics == pytest.approx(logged.data.metrics)
    assert result.registered_version is None
    assert result.model_uri == f"runs:/{result.run_id}/model"
    assert result.tracking_uri == trained["uri"]
    assert capsys.readouterr().out == ""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


GOOD_HEADER = "age,bmi,target\n"
GOOD_ROWS = "".join(f"{30 + i},{20 + i % 7},{90 + i}\n" for i in range(30))


DATED = "age,when,target\n" + "".join(f"{i},2024-01-{i % 28 + 1:02d},{i}\n" for i in range(30))
BAD_INPUTS = {
    "missing-file": (None, [], "not found; run `invoke data` first"),
    "empty": ("", [], "is empty"),
    "header-only": (GOOD_HEADER, [], "has a header but no rows"),
    "no-target": ("age,bmi,y\n" + "1,2,3\n" * 20, [], "no target column 'target'"),
    "missing-target": (GOOD_HEADER + "30,20,\n" + GOOD_ROWS, [], "row.*no 'target' value"),
    "duplicate-names": ("age,age,target\n" + "1,2,3\n" * 20, [], r"duplicate column names \(age\)"),
    "inf-feature": (GOOD_HEADER + "inf,20,90\n" + GOOD_ROWS, [], "'age'.*infinite value"),
    "inf-target": (GOOD_HEADER + "30,20,inf\n" + GOOD_ROWS, [], "target 'target'.*infinite value"),
    "all-empty-column": (
        "age,gap,target\n" + "".join(f"{i},,{i}\n" for i in range(30)),
        [],
        "'gap'.*has no values",
    ),
    "mixed-column": (GOOD_HEADER + "abc,20,90\n" + GOOD_ROWS, [], "'age'.*mixes numbers and text"),
    "date-column": (DATED, [], "'when'.*holds dates"),
    "one-class": (
        GOOD_HEADER + "".join(f"{30 + i},{i % 7},yes\n" for i in range(30)),
        [],
        "has one class",
    ),
    "missing-feature": (
        GOOD_HEADER + GOOD_ROWS,
        ["--features", "age,s6"],
        r"lacks the feature column\(s\) s6",
    ),
    "unknown-param": (
        GOOD_HEADER + GOOD_ROWS,
        ["--param", "n_trees=3"],
        "unknown hyperparameter 'n_trees'",
    ),
    "bad-value": (
        GOOD_HEADER + GOOD_ROWS,
        ["--learning-rate", "-1"],
        "invalid hyperparameter.*learning_rate",
    ),
    "bad-split": (
        GOOD_HEADER + GOOD_ROWS,
        ["--test-size", "1.5"],
        "--test-size must be between 0 and 1",
    ),
}


@pytest.mark.parametrize(("csv", "extra", "message"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_ends_in_one_line_and_writes_nothing(tmp_path, capsys, csv, extra, message):
    import re

    data = tmp_path / "missing.csv" if csv is None else write(tmp_path, csv)
    assert train.main(["--data", str(data), *extra]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert re.search(message, err), err
    assert not (tmp_path / "mlruns").exists()  # no store, no run, nothing registered


def test_missing_feature_values_are_imputed_not_refused(tmp_path, capsys, isolated_mlflow):
    rows = GOOD_HEADER + ",20,90\n31,,91\n" + GOOD_ROWS
    assert (
        train.main(["--data", str(write(tmp_path, rows)), "--max-iter", "5", "--no-register"]) == 0
    )
    assert "registered" not in capsys.readouterr().out


def test_a_flag_of_the_wrong_type_is_one_line_and_exit_2(tmp_path, capsys):
    assert train.main(["--data", "x.csv", "--max-iter", "many"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: argument --max-iter: invalid int value: 'many' (see --help)"


def test_the_config_from_argv_is_the_config_the_typed_call_takes(tmp_path):
    argv = ["--data", "d.csv", "--target", "y", "--max-iter", "5", "--param", "max_bins=63"]
    assert train.TrainingConfig.from_argv([*argv, "--no-register"]) == train.TrainingConfig(
        data=Path("d.csv"),
        target="y",
        hyperparameters={"max_iter": 5, "max_bins": 63},
        register=False,
    )


def test_argv_and_settings_share_one_set_of_defaults():
    from diabetes_model.settings import Settings

    assert train.TrainingConfig.from_argv(
        ["--data", "d.csv"]
    ) == train.TrainingConfig.from_settings(Settings(data_path="d.csv"))


def test_a_failure_while_logging_marks_the_run_failed_and_registers_nothing(
    tmp_path, diabetes_csv, monkeypatch, isolated_mlflow
):
    from mlflow import MlflowClient

    from diabetes_model import tracking

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tracking, "pinned_requirements", broken)
    with pytest.raises(OSError, match="disk full"):
        train.main(["--data", str(diabetes_csv), "--max-iter", "5"])
    client = MlflowClient(tracking_uri=isolated_mlflow)
    [run] = client.search_runs([client.get_experiment_by_name("diabetes-model").experiment_id])
    assert run.info.status == "FAILED"
    assert client.search_registered_models() == []


def test_the_diagnostics_figure_is_a_png_of_both_panels(trained, tmp_path):
    from mlflow.artifacts import download_artifacts
    from PIL import Image

    png = download_artifacts(
        run_id=trained["run"].info.run_id,
        artifact_path="diagnostics.png",
        dst_path=str(tmp_path),
        tracking_uri=trained["uri"],
    )
    with Image.open(png) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert width > height  # two panels side by side


@pytest.mark.parametrize("paused_before", [True, False], ids=["entry-point", "notebook"])
def test_cycles_are_collected_while_fitting_and_a_pause_resumes_after(
    paused_before, diabetes_csv, monkeypatch
):
    """`python -m diabetes_model.train` pauses cyclic collection for speed; the fit must not."""
    import gc

    import pandas as pd
    from sklearn.pipeline import Pipeline

    from diabetes_model.core.fitting import checked_pipeline, fit_and_evaluate, training_rows
    from diabetes_model.core.schema import infer_schema

    seen_during_fit = []
    real_fit = Pipeline.fit

    def spying_fit(self, *args, **kwargs):
        seen_during_fit.append(gc.isenabled())
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "fit", spying_fit)
    frame = pd.read_csv(diabetes_csv)
    schema = infer_schema(frame, "target")
    enabled_before = gc.isenabled()
    try:
        gc.disable() if paused_before else gc.enable()
        pipeline = checked_pipeline(schema, {"max_iter": 5}, 0)
        fit_and_evaluate(
            training_rows(frame, schema, 0.25, 0), schema, pipeline, {"max_iter": 5}, 0
        )
        enabled_after = gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable() if enabled_before else gc.disable()
    assert seen_during_fit == [True]
    assert enabled_after is not paused_before


def test_rows_split_beforehand_are_trained_and_scored_as_given_and_the_model_is_written_out(
    tmp_path, diabetes_csv, isolated_mlflow
):
    """What a pipeline's train step does: prep split the rows; training writes its model out."""
    import pandas as pd

    frame = pd.read_csv(diabetes_csv)
    frame.iloc[:300].to_parquet(tmp_path / "train.parquet")
    frame.iloc[300:].to_parquet(tmp_path / "test.parquet")
    config = train.TrainingConfig.from_argv(
        ["--data", str(tmp_path / "train.parquet"), "--test-data", str(tmp_path / "test.parquet"),
         "--max-iter", "20", "--no-register", "--model-output", str(tmp_path / "model")]
    )  # fmt: skip
    trained = train.train_and_log(config, isolated_mlflow)

    assert (tmp_path / "model" / "MLmodel").is_file()
    import mlflow

    model = mlflow.pyfunc.load_model(str(tmp_path / "model"))
    test = frame.iloc[300:]
    features = test.drop(columns=["target"]).astype("float64")
    rmse = float(((model.predict(features) - test["target"]) ** 2).mean() ** 0.5)
    assert trained.metrics["test_rmse"] == pytest.approx(rmse)
