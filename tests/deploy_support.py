"""Helpers of the `invoke deploy` tests: the task's call and what the fake endpoint holds
afterwards (model versions: registry_support.py)."""

from __future__ import annotations

from pathlib import Path

from azure_fake import FakeAzure
from projects import make_project

from diabetes_model.azure import deploy


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
