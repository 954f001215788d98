"""The offline Azure fake carries the real azure-ai-ml client through a whole command job."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure_fake import RESOURCE_GROUP, SUBSCRIPTION, WORKSPACE
from azure_fake.storage import blob_names


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("print('training')\n")
    (tmp_path / "data.csv").write_text("x,target\n1,2\n3,4\n")
    return tmp_path


def ml_client():
    from azure.ai.ml import MLClient
    from azure.identity import DefaultAzureCredential

    return MLClient(DefaultAzureCredential(), SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE)


def command_job(project: Path, data: str):
    from azure.ai.ml import Input, command
    from azure.ai.ml.entities import Environment

    environment = Environment(
        name="fake-env",
        version="1",
        image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest",
        conda_file={"name": "env", "dependencies": ["python=3.11", {"pip": ["pandas"]}]},
    )
    return command(
        code=str(project / "src"),
        command="python train.py --data ${{inputs.data}}",
        environment=environment,
        inputs={"data": Input(type="uri_file", path=data)},
        compute="cpu-cluster",
        experiment_name="diabetes-model",
        tags={"commit": "abc123"},
    )


def test_a_command_job_uploads_code_registers_environment_and_data(cloud, project):
    from azure.ai.ml.entities import Data

    client = ml_client()
    environment = client.environments.create_or_update(command_job(project, "x").environment)
    data = client.data.create_or_update(
        Data(
            name="diabetes-model-data", version="1", type="uri_file", path=str(project / "data.csv")
        )
    )
    job = command_job(project, f"azureml:{data.name}:1")
    job.environment = f"{environment.name}:{environment.version}"
    created = client.jobs.create_or_update(job)

    sent = cloud.job(created.name)["properties"]
    assert sent["command"] == "python train.py --data ${{inputs.data}}"
    assert sent["environmentId"].endswith("/environments/fake-env/versions/1")
    assert "python=3.11" in cloud.assets("environments")["fake-env:1"]["properties"]["condaFile"]
    assert sent["computeId"].endswith("/computes/cpu-cluster")
    assert sent["inputs"]["data"]["uri"].endswith("/data/diabetes-model-data/versions/1")
    assert sent["experimentName"] == "diabetes-model"
    assert sent["tags"]["commit"] == "abc123"
    # The code snapshot and the data file reached blob storage, byte for byte.
    [code_blob] = blob_names(cloud, r"/train\.py$")
    [data_blob] = blob_names(cloud, r"/data\.csv$")
    assert cloud.blob(code_blob) == (project / "src" / "train.py").read_bytes()
    assert cloud.blob(data_blob) == (project / "data.csv").read_bytes()
    assert cloud.assets("data")["diabetes-model-data:1"]["properties"]["dataUri"].endswith(
        "/data.csv"
    )
    assert created.studio_url.startswith("https://ml.azure.com/runs/")


def test_the_same_code_snapshot_is_uploaded_once(cloud, project):
    client = ml_client()
    client.jobs.create_or_update(command_job(project, str(project / "data.csv")))
    client.jobs.create_or_update(command_job(project, str(project / "data.csv")))

    assert len(blob_names(cloud, r"/train\.py$")) == 1
    assert len(cloud.jobs_created) == 2


def test_streaming_follows_the_job_to_its_end_and_prints_its_log(cloud, project, capsys):
    client = ml_client()
    created = client.jobs.create_or_update(command_job(project, str(project / "data.csv")))
    client.jobs.stream(created.name)

    out = capsys.readouterr().out
    assert "Running: python train.py" in out
    assert "training finished" in out
    assert client.jobs.get(created.name).status == "Completed"


def test_a_request_without_a_route_fails_loudly(cloud):
    import requests
    from azure_fake.http import UnhandledRequest

    with pytest.raises(UnhandledRequest, match=r"no route for GET https://example\.invalid/x"):
        requests.get("https://example.invalid/x", timeout=1)
    cloud.unhandled.clear()  # expected here; anywhere else the fixture fails the test


def test_a_token_the_fake_did_not_issue_is_refused(cloud):
    import requests

    url = f"https://management.azure.com{cloud.workspace['id']}?api-version=2024-10-01"
    response = requests.get(url, headers={"Authorization": "Bearer forged"}, timeout=1)
    assert response.status_code == 401
