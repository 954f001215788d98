"""Helpers of the `invoke deploy` tests: model versions as the workspace holds them, the task's
call, and what the fake endpoint and registry hold afterwards."""

from __future__ import annotations

from pathlib import Path

from azure_fake import FakeAzure
from projects import make_project

from diabetes_model.azure import deploy

MODEL = "diabetes-regressor"


# What the pipeline's register step records on a version that passed the gate (abridged).
PASSED = {
    "evaluation.result": "passed",
    "evaluation.metric": "test_rmse",
    "evaluation.score": "52.5",
    "evaluation.champion": "none",
}


def register_model(cloud: FakeAzure, version: str, tags: dict | None = None) -> None:
    """A model version as the workspace holds one after the pipeline registered it (`tags`:
    PASSED unless given; {} is a version `invoke train --remote` registered)."""
    uri = f"azureml://jobs/job-{version}/outputs/artifacts/paths/model/"
    properties = {"modelType": "mlflow_model", "modelUri": uri, "flavors": {}}
    properties["tags"] = dict(PASSED if tags is None else tags)
    cloud.put(None, f"models/{MODEL}/versions/{version}", {"properties": properties})


def run(
    tmp_path: Path,
    said: list[str] | None = None,
    azure: dict | None = None,
    data: Path | None = None,
    **changes,
):
    """`invoke deploy` with these flags; the training data is `data` (default: none, so the
    smoke request takes rows of the bundled diabetes data, as in CI)."""
    settings = {"data_path": str(data or tmp_path / "no-data.csv")}
    project = make_project(tmp_path, project=settings, azure=azure)
    environ = changes.pop("environ", {})
    return deploy.deploy(
        project,
        deploy.Request(**changes),
        environ=environ,
        say=(said if said is not None else []).append,
    )


def endpoint_of(cloud: FakeAzure) -> dict:
    (endpoint,) = cloud.children("onlineEndpoints")
    return endpoint


def tags_of(cloud: FakeAzure, version: str) -> dict[str, str]:
    return cloud.get(f"models/{MODEL}/versions/{version}")["properties"]["tags"]


def champions(cloud: FakeAzure) -> list[str]:
    return [v for v in ("1", "2", "3", "4") if cloud.get(f"models/{MODEL}/versions/{v}")
            and tags_of(cloud, v).get("champion") == "true"]  # fmt: skip
