"""Model versions as an Azure ML workspace holds them, in the fake: put one there, read its tags,
and which versions carry the champion mark."""

from __future__ import annotations

from azure_fake import FakeAzure

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


def tags_of(cloud: FakeAzure, version: str) -> dict[str, str]:
    return cloud.get(f"models/{MODEL}/versions/{version}")["properties"]["tags"]


def champions(cloud: FakeAzure) -> list[str]:
    return [v for v in ("1", "2", "3", "4") if cloud.get(f"models/{MODEL}/versions/{v}")
            and tags_of(cloud, v).get("champion") == "true"]  # fmt: skip
