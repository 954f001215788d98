"""Opt-in, against a real workspace: `pytest -m azure_live` with the workspace variables and a login
(README: Train on Azure ML). It submits a small job, waits for it and registers its model."""

from __future__ import annotations

import dataclasses
import os
import uuid
from pathlib import Path

import pytest
import yaml

from diabetes_model.azure import cli
from diabetes_model.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.azure_live


@pytest.fixture(autouse=True)
def opted_in(request: pytest.FixtureRequest) -> None:
    if "azure_live" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("runs against a real Azure ML workspace: pytest -m azure_live")


def test_a_small_job_completes_in_the_workspace_and_its_model_registers(tmp_path, diabetes_csv):
    config = yaml.safe_load((ROOT / "invoke.yaml").read_text())
    project = dataclasses.replace(
        Settings.from_sources(config["project"]), data_path=str(diabetes_csv)
    )
    azure = cli.azure_settings(ROOT, config["azure"], os.environ, {"output_dir": str(tmp_path)})
    job_name = f"diabetes-live-test-{uuid.uuid4().hex[:8]}"

    code = cli.submit_remote(
        "job_spec", ROOT, project, azure, overrides={"max_iter": 20}, job_name=job_name, stream=True
    )

    assert code == 0
    cli.register_remote(project, azure, job_name)
