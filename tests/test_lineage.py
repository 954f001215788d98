"""`invoke lineage`: a registered version's governance record, from the local MLflow registry
(the champion is the alias) or, with --remote, the workspace's (the champion is the tag)."""

from __future__ import annotations

import pytest
from projects import make_project

from diabetes_model.errors import UserError
from diabetes_model.lineage import local_record, parse_model
from diabetes_model.pipeline import PipelineRequest, run_pipeline


@pytest.fixture(scope="module")
def promoted(tmp_path_factory, diabetes_csv):
    """A store where the pipeline promoted version 1 and then kept a worse version out, and a
    plain training registered version 2."""
    import os

    tmp = tmp_path_factory.mktemp("lineage")
    uri = f"sqlite:///{tmp / 'mlruns' / 'mlflow.db'}"
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri
    try:
        project = make_project(tmp, project={"data_path": str(diabetes_csv)})
        quiet = lambda line: None  # noqa: E731
        run_pipeline(project, PipelineRequest({"max_iter": 20}), {}, say=quiet)
        from diabetes_model.train import TrainingConfig, train_and_log

        config = TrainingConfig(data=diabetes_csv, hyperparameters={"max_iter": 20})
        train_and_log(config, uri)
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_TRACKING_URI")
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous
    return uri


def test_by_default_the_champion_is_shown_with_its_whole_record(promoted):
    record = local_record(promoted, "", "diabetes-regressor")

    lines = record.describe()
    assert lines[0] == "diabetes-regressor:1 (champion) in the local MLflow registry"
    text = "\n".join(lines)
    for key in ("data.sha256", "data.asset", "git.commit", "triggered_by",
                "environment", "pipeline.run", "training.run", "evaluation.result",
                "evaluation.champion"):  # fmt: skip
        assert f"  {key} " in text
    # In the order of the record: data, code, who, environment, what made it, evaluation.
    assert text.index("data.sha256") < text.index("git.commit") < text.index("evaluation.result")


def test_a_named_version_outside_the_pipeline_says_it_has_no_evaluation(promoted):
    record = local_record(promoted, "diabetes-regressor:2", "ignored")

    assert not record.champion
    assert record.describe()[-1] == "  (not registered by the pipeline: no evaluation on record)"
    assert local_record(promoted, "diabetes-regressor/2", "x").version == "2"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("diabetes-regressor:9", r"diabetes-regressor:9 is not registered in sqlite"),
        ("other", r"model 'other' has no champion in .*invoke lineage --model NAME:VERSION"),
        ("diabetes-regressor:latest", r"is not NAME:VERSION \(a version is a number"),
    ],
)
def test_what_is_not_there_is_one_line(promoted, text, error):
    with pytest.raises(UserError, match=error):
        local_record(promoted, text, "diabetes-regressor")


def test_no_store_is_named_and_not_created(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    with pytest.raises(UserError, match=r"no MLflow store at .* yet: run `invoke pipeline`"):
        local_record(uri, "", "diabetes-regressor")
    assert not (tmp_path / "mlruns" / "mlflow.db").exists()


def test_parse_model_defaults_to_the_projects_model():
    assert parse_model("", "diabetes-regressor") == ("diabetes-regressor", None)
    assert parse_model("m:3", "x") == ("m", "3")


def test_remote_lineage_reads_the_workspace_registry_and_its_champion_tag(cloud, tmp_path):
    from diabetes_model.azure.champion import remote_record

    uri = "azureml://jobs/job-1/outputs/artifacts/paths/model/"
    for version, tags in {
        "1": {"champion": "true", "git.commit": "old"},
        "2": {"champion": "true", "git.commit": "abc", "deploy.slot": "blue"},
        "3": {"git.commit": "kept out", "evaluation.result": "failed"},
    }.items():
        properties = {"modelType": "mlflow_model", "modelUri": uri, "tags": tags, "flavors": {}}
        body = {"properties": properties}
        cloud.put(None, f"models/diabetes-regressor/versions/{version}", body)
    project = make_project(tmp_path)

    record = remote_record(project, "")
    assert (record.version, record.champion) == ("2", True)  # the highest tagged version
    assert (
        record.describe()[0] == "diabetes-regressor:2 (champion) in the Azure ML workspace registry"
    )
    assert "  deploy.slot  blue" in record.describe()
    assert not remote_record(project, "diabetes-regressor:3").champion
    with pytest.raises(
        UserError, match="version 9 of model 'diabetes-regressor' is not registered"
    ):
        remote_record(project, "diabetes-regressor:9")


def test_the_lineage_task_prints_the_record(tmp_path, promoted, monkeypatch, capsys):
    from invoke import Config, MockContext, Result
    from project_tasks import load_project_tasks

    monkeypatch.setenv("MLFLOW_TRACKING_URI", promoted)
    load_project_tasks().lineage(
        MockContext(config=Config(), run=Result()), model="diabetes-regressor:1"
    )
    assert capsys.readouterr().out.startswith("diabetes-regressor:1 (champion) in the local MLflow")
