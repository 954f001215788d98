"""`invoke deploy` end to end: the real azure-ai-ml client against the offline Azure fake.

The smoke request reaches the fake's scoring host, which here answers with the real scoring
code (the Scorer that score.py runs) on a small registered MLflow model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure_fake import FakeAzure, fake_azure
from azure_fake.http import Response
from projects import make_project
from serving_support import CLASSIFIERS, classifier_dir, registered_store

from diabetes_model.azure import deploy
from diabetes_model.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
MODEL = "diabetes-model"


def scoring_host(model_dir: Path):
    """Answers like a deployment running score.py: the project's Scorer on a real model."""
    from diabetes_model.serving.scorer import Scorer, ScorerConfig

    scorer = Scorer.load(ScorerConfig(model_dir=model_dir))

    def answer(deployment: str, body: bytes) -> Response:
        result = scorer.score(body)
        if isinstance(result, dict):
            return Response(200, result)
        return Response(result.status_code, json.loads(result.get_data()))

    return answer


@pytest.fixture(scope="module")
def real_scorer(tmp_path_factory):
    return scoring_host(registered_store(tmp_path_factory.mktemp("store")).model_dir)


@pytest.fixture(scope="module")
def penguin_scorer(tmp_path_factory):
    return scoring_host(classifier_dir("penguins", tmp_path_factory.mktemp("classifiers")))


@pytest.fixture
def cloud(monkeypatch, tmp_path, real_scorer) -> Iterator[FakeAzure]:
    with fake_azure(monkeypatch, home=str(tmp_path / "home")) as fake:
        fake.online_scorer = real_scorer
        for version in ("1", "2"):
            register_model(fake, version)
        yield fake


def register_model(cloud: FakeAzure, version: str) -> None:
    """A model version as the workspace holds one after `invoke train --remote` registered it."""
    uri = f"azureml://jobs/job-{version}/outputs/artifacts/paths/model/"
    body = {"properties": {"modelType": "mlflow_model", "modelUri": uri, "flavors": {}}}
    cloud.put(None, f"models/{MODEL}/versions/{version}", body)


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
    return deploy.deploy(
        project, deploy.Request(**changes), say=(said if said is not None else []).append
    )


def endpoint_of(cloud: FakeAzure) -> dict:
    (endpoint,) = cloud.children("onlineEndpoints")
    return endpoint


def test_first_deploy_creates_the_endpoint_and_gives_blue_all_traffic(cloud, tmp_path):
    said: list[str] = []
    assert run(tmp_path, said) == {"blue": 100}
    endpoint = endpoint_of(cloud)
    assert endpoint["name"].startswith("diabetes-model-")
    assert endpoint["properties"]["authMode"] == "Key"
    assert endpoint["properties"]["traffic"] == {"blue": 100}
    blue = cloud.get(f"onlineEndpoints/{endpoint['name']}/deployments/blue")["properties"]
    assert blue["model"].endswith(f"/models/{MODEL}/versions/2")  # the latest version
    assert "/environments/diabetes-model-env/versions/" in blue["environmentId"]
    assert blue["codeConfiguration"]["scoringScript"] == "diabetes_model/serving/score.py"
    assert any(line.startswith("smoke request to blue: 3 predictions") for line in said)


def test_the_code_snapshot_holds_the_scoring_script(cloud, tmp_path):
    run(tmp_path)
    names = [name for (_, _), blobs in cloud.blobs.items() for name in blobs]
    assert any(name.endswith("diabetes_model/serving/score.py") for name in names)
    assert not any("__pycache__" in name for name in names)


def test_the_smoke_request_goes_to_the_new_slot_before_it_has_traffic(cloud, tmp_path):
    run(tmp_path)
    (endpoint, deployment, body) = cloud.scored[0]
    assert deployment == "blue"
    assert json.loads(body)["input_data"]["columns"][:3] == ["age", "sex", "bmi"]
    smoke_index = next(i for i, r in enumerate(cloud.requests) if r.path == "/score")
    traffic_puts = [
        i
        for i, r in enumerate(cloud.requests)
        if r.method == "PUT"
        and r.path.endswith(f"/onlineEndpoints/{endpoint}")
        and (r.json()["properties"].get("traffic") or {})
    ]
    assert traffic_puts and min(traffic_puts) > smoke_index


def test_the_next_version_goes_to_green_with_a_canary_split(cloud, tmp_path):
    run(tmp_path)
    register_model(cloud, "3")
    said: list[str] = []
    assert run(tmp_path, said, traffic=10) == {"green": 10, "blue": 90}
    name = endpoint_of(cloud)["name"]
    green = cloud.get(f"onlineEndpoints/{name}/deployments/green")["properties"]
    blue = cloud.get(f"onlineEndpoints/{name}/deployments/blue")["properties"]
    assert green["model"].endswith("/versions/3") and blue["model"].endswith("/versions/2")
    assert endpoint_of(cloud)["properties"]["traffic"] == {"green": 10, "blue": 90}


def test_a_pinned_version_is_deployed(cloud, tmp_path):
    run(tmp_path, model_version="1")
    name = endpoint_of(cloud)["name"]
    blue = cloud.get(f"onlineEndpoints/{name}/deployments/blue")["properties"]
    assert blue["model"].endswith("/versions/1")


def test_a_failed_smoke_request_leaves_traffic_where_it_was(cloud, tmp_path):
    run(tmp_path)
    cloud.online_scorer = lambda deployment, body: Response(502, {"message": "boom"})
    with pytest.raises(UserError, match=r"green failed its smoke request \(502\).*get-logs"):
        run(tmp_path)
    assert endpoint_of(cloud)["properties"]["traffic"] == {"blue": 100}


def test_a_wrong_smoke_answer_leaves_traffic_where_it_was(cloud, tmp_path):
    run(tmp_path)
    cloud.online_scorer = lambda deployment, body: Response(200, {"predictions": [1.0]})
    with pytest.raises(UserError, match=r"\(1 prediction for 3 rows\); traffic is unchanged"):
        run(tmp_path)
    assert endpoint_of(cloud)["properties"]["traffic"] == {"blue": 100}


def penguin_settings(tmp_path: Path) -> dict:
    """The project settings of a classification table: text labels, categories with gaps."""
    data = tmp_path / "penguins.csv"
    CLASSIFIERS["penguins"].table().to_csv(data, index=False)
    return {"data_path": str(data), "target": "species", "features": []}


def test_a_classifier_passes_the_smoke_test_with_labels_and_probabilities(
    cloud, tmp_path, penguin_scorer
):
    cloud.online_scorer = penguin_scorer
    said: list[str] = []
    project = make_project(tmp_path, project=penguin_settings(tmp_path))
    assert deploy.deploy(project, deploy.Request(), say=said.append) == {"blue": 100}
    (_, _, body) = cloud.scored[0]
    assert json.loads(body)["input_data"]["columns"] == ["island", "bill_mm", "mass_g", "male"]
    (smoke,) = [line for line in said if line.startswith("smoke request to blue")]
    labels = smoke.split("(", 1)[1].rstrip(")").split(", ")
    assert len(labels) == 3 and set(labels) <= {"Adelie", "Chinstrap", "Gentoo"}, smoke


def test_a_classifiers_probabilities_that_do_not_sum_to_one_are_refused(cloud, tmp_path):
    run(tmp_path)
    wrong = {"predictions": ["a"] * 3, "probabilities": [{"a": 0.9, "b": 0.9}] * 3}
    cloud.online_scorer = lambda deployment, body: Response(200, wrong)
    with pytest.raises(
        UserError, match=r"probabilities 0 sum to 1\.8, not 1\); traffic is unchanged"
    ):
        run(tmp_path)
    assert endpoint_of(cloud)["properties"]["traffic"] == {"blue": 100}


def test_an_unregistered_model_is_a_clear_error(cloud, tmp_path):
    with pytest.raises(UserError, match="version 9 of model 'diabetes-model' is not registered"):
        run(tmp_path, model_version="9")
    assert cloud.children("onlineEndpoints") == []


def test_monitor_registers_the_reference_data_and_schedules_drift_alerts(
    cloud, tmp_path, diabetes_csv
):
    azure = {"notify_emails": "ops@example.org"}
    run(tmp_path, azure=azure, monitor=True, data=diabetes_csv)
    data = cloud.assets("data")
    (reference,) = [asset for key, asset in data.items() if key.startswith("diabetes-reference:")]
    assert reference["properties"]["dataType"] == "mltable"
    # The deployment's data collector registered where its collected inputs land.
    assert any(key.endswith("-blue-model_inputs:1") for key in data)
    stored = [cloud.blob(f"{a}/{c}/{n}") for (a, c), blobs in cloud.blobs.items() for n in blobs]
    assert any(b"read_delimited" in blob for blob in stored)  # the MLTable file went up
    (schedule,) = cloud.children("schedules")
    action = schedule["properties"]["action"]
    definition = action["monitorDefinition"]
    name = endpoint_of(cloud)["name"]
    assert definition["monitoringTarget"]["deploymentId"].endswith(
        f"/onlineEndpoints/{name}/deployments/blue"
    )
    signal = definition["signals"]["input_drift"]
    assert signal["productionData"]["uri"].endswith("-blue-model_inputs/versions/1")
    assert "/data/diabetes-reference/versions/" in signal["referenceData"]["uri"]
    alerts = definition["alertNotificationSetting"]["emailNotificationSetting"]
    assert alerts["emails"] == ["ops@example.org"]


def test_monitor_without_the_training_data_is_refused_before_deploying(cloud, tmp_path):
    azure = {"notify_emails": "ops@example.org"}
    missing = tmp_path / "no.csv"
    with pytest.raises(UserError, match="run `invoke data`"):
        run(tmp_path, azure=azure, monitor=True, data=missing)
    assert cloud.children("onlineEndpoints") == []


def test_a_deployment_that_fails_to_start_names_its_logs_and_keeps_traffic(cloud, tmp_path):
    run(tmp_path)
    cloud.fail("PUT", r"/deployments/green$", 400)
    with pytest.raises(
        UserError, match=r"deployment green did not start .*get-logs .* --name green"
    ):
        run(tmp_path)
    assert endpoint_of(cloud)["properties"]["traffic"] == {"blue": 100}


def tag(cloud: FakeAzure, version: str, tags: dict[str, str]) -> None:
    cloud.get(f"models/{MODEL}/versions/{version}")["properties"]["tags"] = tags


def test_without_a_version_the_champion_is_deployed_not_the_latest(cloud, tmp_path):
    """The latest version may be one the pipeline's gate kept from serving."""
    tag(cloud, "1", {"champion": "true"})
    run(tmp_path)
    blue = cloud.get(f"onlineEndpoints/{endpoint_of(cloud)['name']}/deployments/blue")
    assert blue["properties"]["model"].endswith("/versions/1")


def test_the_deployed_version_records_endpoint_slot_traffic_and_time(cloud, tmp_path):
    tag(cloud, "2", {"git.commit": "abc"})
    said: list[str] = []
    run(tmp_path, said)
    register_model(cloud, "3")
    run(tmp_path, traffic=10)

    name = endpoint_of(cloud)["name"]
    second = cloud.get(f"models/{MODEL}/versions/2")["properties"]["tags"]
    assert {k: v for k, v in second.items() if k != "deploy.time"} == {
        "git.commit": "abc",  # the governance record stays
        "deploy.endpoint": name,
        "deploy.slot": "blue",
        "deploy.traffic": "100",
    }
    assert second["deploy.time"].endswith("Z")
    third = cloud.get(f"models/{MODEL}/versions/3")["properties"]["tags"]
    assert (third["deploy.slot"], third["deploy.traffic"]) == ("green", "10")
    assert f"recorded on {MODEL}:2: {name}/blue, 100% of traffic" in said
