"""The champion mark through MLflow's client: the alias `champion` (MLflow registries), which the
pipeline moves, and the tag champion=true (Azure ML's registry, which documents no aliases), which
the pipeline only reads. The tag is read on a local store here; in an Azure ML job the same calls
go to the workspace."""

from __future__ import annotations

import mlflow
import pytest
from mlflow import MlflowClient

from diabetes_model.champion import crown, find_champion, marks_with_tag, version_of_run


@pytest.fixture
def client(isolated_mlflow: str) -> MlflowClient:
    """A model `m` with three versions, each from its own run."""
    mlflow.set_tracking_uri(isolated_mlflow)
    registry = MlflowClient(isolated_mlflow)
    registry.create_registered_model("m")
    for _ in range(3):
        with mlflow.start_run() as run:
            mlflow.log_text("x", "model/file.txt")
        registry.create_model_version("m", f"runs:/{run.info.run_id}/model", run.info.run_id)
    return registry


def test_crowning_moves_the_alias_and_returns_the_previous_champion(client):
    assert find_champion(client, "m", by_tag=False) is None
    assert crown(client, "m", "1") is None
    assert find_champion(client, "m", by_tag=False).version == "1"

    previous = crown(client, "m", "2")

    assert previous.version == "1"
    champion = find_champion(client, "m", by_tag=False)
    assert champion.version == "2"
    assert champion.run_id == client.get_model_version("m", "2").run_id


def test_by_tag_the_highest_version_tagged_champion_is_the_champion(client):
    """What the pipeline reads in an Azure ML job; `invoke deploy` moves the tag
    (tests/test_azure_champion.py)."""
    assert find_champion(client, "m", by_tag=True) is None
    client.set_model_version_tag("m", "1", "champion", "true")
    client.set_model_version_tag("m", "3", "champion", "false")
    assert find_champion(client, "m", by_tag=True).version == "1"
    client.set_model_version_tag("m", "2", "champion", "true")  # a move cut short
    champion = find_champion(client, "m", by_tag=True)
    assert (champion.version, champion.run_id) == ("2", client.get_model_version("m", "2").run_id)


def test_an_unregistered_model_has_no_champion_either_way(client):
    assert find_champion(client, "nope", by_tag=False) is None
    assert find_champion(client, "nope", by_tag=True) is None


def test_the_version_of_a_run_is_found_so_a_run_is_registered_once(client):
    run_id = client.get_model_version("m", "2").run_id
    assert version_of_run(client, "m", run_id) == "2"
    assert version_of_run(client, "m", "0" * 32) is None


@pytest.mark.parametrize(
    ("uri", "tag"),
    [
        ("sqlite:///mlruns/mlflow.db", False),
        ("http://tracking.example:5000", False),
        ("azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/x", True),
    ],
)
def test_azure_mls_registry_is_marked_with_the_tag_every_other_with_the_alias(uri, tag):
    assert marks_with_tag(uri) is tag
