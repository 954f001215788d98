"""Which version `invoke deploy --pipeline-job NAME` ships (the Deploy workflow after Train): the
one that pipeline registered, or nothing, with the gate's verdict, when it registered none."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure_fake import FakeAzure, fake_azure
from deploy_support import endpoint_of, run
from projects import make_project
from registry_support import PASSED, champions, register_model

from diabetes_model.azure.pipeline import PipelineSubmission, submit_pipeline
from diabetes_model.errors import UserError

VERDICT = "not promoted: test_rmse 71.6 vs champion version 1's 52.4: 36.6% worse"


@pytest.fixture
def cloud(monkeypatch, tmp_path) -> Iterator[FakeAzure]:
    with fake_azure(monkeypatch, home=str(tmp_path / "home")) as fake:
        yield fake


def pipeline(cloud: FakeAzure, tmp_path, diabetes_csv, name: str, verdict: str) -> None:
    """A pipeline job as `invoke pipeline --remote --job-name NAME` leaves it, its register
    step's run tagged with the gate's verdict."""
    cloud.step_tags["register"] = {"gate.summary": verdict}
    project = make_project(tmp_path, project={"data_path": str(diabetes_csv)})
    submit_pipeline(project, PipelineSubmission(job_name=name), {}, say=lambda line: None)


def test_the_version_the_pipeline_registered_is_deployed_and_becomes_the_champion(cloud, tmp_path):
    register_model(cloud, "1")
    register_model(cloud, "2", {**PASSED, "pipeline.run": "pipe-2"})
    register_model(cloud, "3")  # a later pipeline's: not this Train run's

    run(tmp_path, pipeline_job="pipe-2")

    blue = cloud.get(f"onlineEndpoints/{endpoint_of(cloud)['name']}/deployments/blue")
    assert blue["properties"]["model"].endswith("/versions/2")
    assert champions(cloud) == ["2"]


def test_a_pipeline_whose_gate_kept_the_model_out_deploys_nothing_and_says_why(
    cloud, tmp_path, diabetes_csv
):
    register_model(cloud, "1")
    pipeline(cloud, tmp_path, diabetes_csv, "pipe-9", VERDICT)
    summary = tmp_path / "summary.md"
    said: list[str] = []

    assert (
        run(tmp_path, said, pipeline_job="pipe-9", environ={"GITHUB_STEP_SUMMARY": str(summary)})
        == {}
    )

    assert said == [f"nothing deployed: pipeline pipe-9 registered no version ({VERDICT})"]
    assert cloud.children("onlineEndpoints") == []
    assert "### Deploy: nothing deployed" in summary.read_text()
    assert VERDICT in summary.read_text()


def test_a_pipeline_version_that_is_the_champion_already_is_not_deployed_twice(cloud, tmp_path):
    register_model(cloud, "2", {**PASSED, "pipeline.run": "pipe-2"})
    run(tmp_path, pipeline_job="pipe-2")
    said: list[str] = []
    assert run(tmp_path, said, pipeline_job="pipe-2") == {}
    assert said == [
        "nothing deployed: diabetes-regressor:2, from pipeline pipe-2, is the champion already"
    ]


def test_an_unknown_pipeline_job_is_one_line(cloud, tmp_path):
    with pytest.raises(UserError, match=r"^no pipeline job pipe-0 in the workspace"):
        run(tmp_path, pipeline_job="pipe-0")
