"""The pipeline's step modules as Azure ML runs them (`python -m diabetes_model.steps.<step>`):
one line for bad input, and what each writes for the next."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from example_tables import bundled, penguins
from projects import make_project

from diabetes_model.champion import find_champion
from diabetes_model.errors import UserError
from diabetes_model.pipeline import PipelineRequest, run_pipeline
from diabetes_model.steps import evaluate, prep, register


def test_prep_splits_once_and_records_the_hashes_of_the_table_and_both_parts(
    tmp_path, diabetes_csv, capsys
):
    from diabetes_model.tables import file_sha256

    argv = [
        "--data",
        str(diabetes_csv),
        "--train",
        str(tmp_path / "a"),
        "--test",
        str(tmp_path / "b"),
    ]
    assert prep.main(argv) == 0

    record = json.loads((tmp_path / "a" / "split.json").read_text())
    assert record == json.loads((tmp_path / "b" / "split.json").read_text())
    assert record["source"] == {
        "name": "diabetes.csv",
        "sha256": file_sha256(diabetes_csv),
        "rows": 442,
    }
    train = pd.read_parquet(tmp_path / "a" / "train.parquet")
    test = pd.read_parquet(tmp_path / "b" / "test.parquet")
    assert (len(train), len(test)) == (record["train"]["rows"], record["test"]["rows"]) == (353, 89)
    assert record["test"]["sha256"] == file_sha256(tmp_path / "b" / "test.parquet")
    assert "into 353 train and 89 test rows (regression)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("module", "argv", "code", "message"),
    [
        (
            prep,
            ["--data", "missing.csv", "--train", "a", "--test", "b"],
            1,
            "data file missing.csv not found",
        ),
        (prep, ["--data", "x.csv"], 2, "the following arguments are required: --train, --test"),
        (
            evaluate,
            ["--model", "m", "--train", "t", "--test", "t", "--report", "r", "--tolerance", "2"],
            1,
            "the gate's tolerance is 2.0",
        ),
        (
            register,
            ["--model", "m", "--report", "nowhere", "--split", "s", "--record", "r"],
            1,
            "nowhere/decision.json not found: the evaluate step did not write it",
        ),
        (
            register,
            [
                "--model",
                "m",
                "--report",
                "r",
                "--split",
                "s",
                "--record",
                "r",
                "--promote-anyway",
                "maybe",
            ],
            2,
            "expected true or false, got 'maybe'",
        ),
    ],
)
def test_bad_input_to_a_step_is_one_line_and_a_non_zero_exit(
    tmp_path, monkeypatch, capsys, module, argv, code, message
):
    monkeypatch.chdir(tmp_path)
    assert module.main(argv) == code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_a_classification_pipeline_is_judged_by_roc_auc(tmp_path, diabetes_csv):
    frame = pd.read_csv(diabetes_csv)
    frame["target"] = (frame["target"] > frame["target"].median()).map({True: "high", False: "low"})
    table = tmp_path / "classes.csv"
    frame.to_csv(table, index=False)
    project = make_project(tmp_path, project={"data_path": str(table), "task": "classification"})

    done = run_pipeline(project, PipelineRequest({"max_iter": 20}), {}, say=lambda line: None)

    decision = json.loads((done.output_dir / "evaluate" / "report" / "decision.json").read_text())
    assert decision["metric"] == "test_roc_auc" and decision["goal"] == "maximize"
    assert decision["baseline"] == 0.5
    assert done.registration["promoted"] is True
    assert (done.output_dir / "evaluate" / "report" / "evaluation.png").stat().st_size > 0


def test_evaluate_scores_text_and_true_false_columns_as_the_training_did(tmp_path, isolated_mlflow):
    from mlflow import MlflowClient

    table = tmp_path / "penguins.csv"
    penguins().to_csv(table, index=False)  # text categories and true/false, both with gaps
    settings = {"data_path": str(table), "target": "species", "features": []}
    project = make_project(tmp_path, project=settings)

    done = run_pipeline(project, PipelineRequest({"max_iter": 20}), {}, say=lambda line: None)

    decision = json.loads((done.output_dir / "evaluate" / "report" / "decision.json").read_text())
    trained = MlflowClient(isolated_mlflow).get_run(decision["candidate_run"]).data.metrics
    # The train step scored the same model on the same test part: the same numbers.
    for metric, value in decision["metrics"]["candidate"].items():
        assert value == pytest.approx(trained[metric]), metric


def test_a_table_big_enough_for_invoke_train_goes_through_every_step(tmp_path, isolated_mlflow):
    # 12 rows, 4 of each class: prep's split leaves 9 rows to train on and 1 of each class to
    # test on; the train step takes that split as it is (a table of its own would need 10 rows).
    table = tmp_path / "wine.csv"
    bundled("wine", target_names=True).groupby("label").head(4).to_csv(table, index=False)
    settings = {"data_path": str(table), "target": "label", "features": []}
    project = make_project(tmp_path, project=settings)

    done = run_pipeline(project, PipelineRequest({"max_iter": 20}), {}, say=lambda line: None)

    assert [step.name for step in done.steps] == ["prep", "train", "evaluate", "register"]
    decision = json.loads((done.output_dir / "evaluate" / "report" / "decision.json").read_text())
    assert decision["metric"] == "test_roc_auc"


def test_a_test_table_without_a_training_column_is_one_line(tmp_path, diabetes_csv, capsys):
    from diabetes_model import train

    test_table = tmp_path / "test.csv"
    pd.read_csv(diabetes_csv).drop(columns=["bmi"]).head(20).to_csv(test_table, index=False)
    argv = ["--data", str(diabetes_csv), "--test-data", str(test_table), "--no-register"]
    assert train.main(argv) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: {test_table} lacks the feature column(s) bmi that the training table has; "
        "give it the same columns"
    )


def test_the_local_environment_is_named_by_the_version_azure_ml_gives_it(tmp_path):
    from diabetes_model.azure.assets import environment_reference
    from diabetes_model.pipeline import environment_label

    project = make_project(tmp_path)
    _, reference = environment_reference(project.specs.environment)
    assert environment_label(project).startswith(reference.removeprefix("azureml:") + " ")


def test_register_refuses_a_decision_taken_against_another_champion(tmp_path, isolated_mlflow):
    report = tmp_path / "report"
    report.mkdir()
    decision = {"promote": True, "reason": "r", "champion_version": "7", "candidate_run": "abc"}
    (report / "decision.json").write_text(json.dumps(decision))
    argv = [
        "--model",
        "m",
        "--report",
        str(report),
        "--split",
        "s",
        "--record",
        str(tmp_path / "r"),
    ]

    with pytest.raises(
        UserError, match=r"champion changed since the evaluation \(version 7 then, None now\)"
    ):
        register.register(
            register.RegisterConfig.from_argv(argv), isolated_mlflow, register.Provenance()
        )
    assert not (tmp_path / "r").exists()


def test_in_an_azure_ml_job_register_tags_its_own_run_with_the_verdict(
    tmp_path, diabetes_csv, isolated_mlflow
):
    """Azure ML sets MLFLOW_RUN_ID in a job; the verdict on that run's tags is what
    `invoke pipeline --remote --stream` reads back from the register step's child run."""
    import mlflow

    project = make_project(tmp_path, project={"data_path": str(diabetes_csv)})
    done = run_pipeline(project, PipelineRequest({"max_iter": 20}), {}, say=lambda line: None)
    mlflow.set_tracking_uri(isolated_mlflow)
    with mlflow.start_run() as step_run:
        pass
    out = done.output_dir
    argv = ["--model", str(out / "train" / "model"), "--report", str(out / "evaluate" / "report"),
            "--split", str(out / "prep" / "train" / "split.json"), "--record", str(tmp_path / "r")]  # fmt: skip
    environ = {"MLFLOW_RUN_ID": step_run.info.run_id}

    assert register.run(argv, isolated_mlflow, environ) == 0

    tags = mlflow.MlflowClient(isolated_mlflow).get_run(step_run.info.run_id).data.tags
    assert tags["gate.promoted"] == "true"
    assert tags["gate.summary"].startswith("promoted: diabetes-regressor version 1 is the champion")
    metrics = json.loads(tags["gate.metrics"])  # the Train workflow's metrics table
    assert (metrics["metric"], metrics["champion_version"]) == ("test_rmse", None)
    assert metrics["metrics"]["candidate"]["test_rmse"] > 0
    assert metrics["metrics"]["champion"] is None


def test_in_azure_ml_register_registers_a_passing_candidate_without_making_it_the_champion(
    tmp_path, diabetes_csv, isolated_mlflow
):
    """In Azure ML the champion is the version meant to serve: the mark moves when a deployment
    of it passed its smoke request (`invoke deploy`), not when the gate passes it."""
    import mlflow

    project = make_project(tmp_path, project={"data_path": str(diabetes_csv)})
    done = run_pipeline(project, PipelineRequest({"max_iter": 20}), {}, say=lambda line: None)
    registry = mlflow.MlflowClient(isolated_mlflow)
    registry.delete_registered_model_alias("diabetes-regressor", "champion")
    registry.delete_model_version("diabetes-regressor", "1")
    out = done.output_dir
    argv = ["--model", str(out / "train" / "model"), "--report", str(out / "evaluate" / "report"),
            "--split", str(out / "prep" / "train" / "split.json"), "--record", str(tmp_path / "r")]  # fmt: skip

    record = register.register(
        register.RegisterConfig.from_argv(argv), isolated_mlflow, register.Provenance(), by_tag=True
    )

    assert (record["promoted"], record["champion"], record["version"]) == (True, False, "2")
    tags = registry.get_model_version("diabetes-regressor", "2").tags
    assert tags["evaluation.result"] == "passed" and "champion" not in tags
    assert "champion" not in registry.get_registered_model("diabetes-regressor").aliases
    assert record["summary"].startswith(
        "promoted: diabetes-regressor version 2 passed the gate; it becomes the champion when a "
        "deployment of it passes its smoke request"
    )


def test_without_an_endpoint_an_azure_ml_champion_is_crowned_at_registration(
    tmp_path, diabetes_csv, isolated_mlflow
):
    """A project made without the deploy parts: its register component says
    `--champion-on registration`, so the gate has a champion to judge the next candidate by."""
    import mlflow

    project = make_project(tmp_path, project={"data_path": str(diabetes_csv)})
    done = run_pipeline(project, PipelineRequest({"max_iter": 20}), {}, say=lambda line: None)
    registry = mlflow.MlflowClient(isolated_mlflow)
    out = done.output_dir
    argv = ["--model", str(out / "train" / "model"), "--report", str(out / "evaluate" / "report"),
            "--split", str(out / "prep" / "train" / "split.json"), "--record", str(tmp_path / "r"),
            "--champion-on", "registration"]  # fmt: skip
    registry.delete_registered_model_alias("diabetes-regressor", "champion")
    registry.delete_model_version("diabetes-regressor", "1")

    record = register.register(
        register.RegisterConfig.from_argv(argv), isolated_mlflow, register.Provenance(), by_tag=True
    )

    assert (record["promoted"], record["champion"], record["version"]) == (True, True, "2")
    assert registry.get_model_version("diabetes-regressor", "2").tags["champion"] == "true"
    assert find_champion(registry, "diabetes-regressor", by_tag=True).version == "2"
    assert "is the champion" in record["summary"]
