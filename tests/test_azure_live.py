"""Opt-in, against a real workspace: `pytest -m azure_live` with the workspace variables and a login
(README: Train on Azure ML). It submits a small job, waits for it and registers its model."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from projects import invoke_config, make_project

from diabetes_model.azure import jobs
from diabetes_model.azure.register import register_job_model

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.azure_live


@pytest.fixture(autouse=True)
def opted_in(request: pytest.FixtureRequest) -> None:
    if "azure_live" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("runs against a real Azure ML workspace: pytest -m azure_live")


def test_a_small_job_completes_in_the_workspace_and_its_model_registers(tmp_path, diabetes_csv):
    config = invoke_config()
    settings = {**config["project"], "data_path": str(diabetes_csv)}
    azure = {**config["azure"], "output_dir": str(tmp_path)}
    project = make_project(tmp_path, project=settings, azure=azure)
    job_name = f"diabetes-live-test-{uuid.uuid4().hex[:8]}"
    job = jobs.Submission(project.specs.train, overrides={"max_iter": 20}, job_name=job_name)

    assert jobs.submit(project, job, stream=True) == 0
    register_job_model(project, job_name)
