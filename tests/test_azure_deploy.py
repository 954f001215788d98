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
from deploy_support import endpoint_of, run
from projects import make_project
from registry_support import MODEL, PASSED, champions, register_model, tags_of
from serving_support import CLASSIFIERS, classifier_dir, registered_store

from diabetes_model.azure import deploy
from diabetes_model.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


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
    register_model(cloud, "3")
    cloud.online_scorer = lambda deployment, body: Response(502, {"message": "boom"})
    with pytest.raises(UserError, match=r"green failed its smoke request \(502\).*get-logs"):
        run(tmp_path)
    assert endpoint_of(cloud)["properties"]["traffic"] == {"blue": 100}


def test_a_wrong_smoke_answer_leaves_traffic_where_it_was(cloud, tmp_path):
    run(tmp_path)
    register_model(cloud, "3")
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
    register_model(cloud, "3")
    wrong = {"predictions": ["a"] * 3, "probabilities": [{"a": 0.9, "b": 0.9}] * 3}
    cloud.online_scorer = lambda deployment, body: Response(200, wrong)
    with pytest.raises(
        UserError, match=r"probabilities 0 sum to 1\.8, not 1\); traffic is unchanged"
    ):
        run(tmp_path)
    assert endpoint_of(cloud)["properties"]["traffic"] == {"blue": 100}


def test_an_unregistered_model_is_a_clear_error(cloud, tmp_path):
    with pytest.raises(
        UserError, match="version 9 of model 'diabetes-regressor' is not registered"
    ):
        run(tmp_path, model_version="9")
    assert cloud.children("onlineEndpoints") == []


def test_monitor_registers_the_reference_data_and_schedules_drift_alerts(
    cloud, tmp_path, diabetes_csv
):
    azure = {"notify_emails": "ops@example.org"}
    run(tmp_path, azure=azure, monitor=True, data=diabetes_csv)
    data = cloud.assets("data")
    (reference,) = [
        asset for key, asset in data.items() if key.startswith("diabetes-model-reference:")
    ]
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
    assert "/data/diabetes-model-reference/versions/" in signal["referenceData"]["uri"]
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
    register_model(cloud, "3")
    cloud.fail("PUT", r"/deployments/green$", 400)
    with pytest.raises(
        UserError, match=r"deployment green did not start .*get-logs .* --name green"
    ):
        run(tmp_path)
    assert endpoint_of(cloud)["properties"]["traffic"] == {"blue": 100}


def test_a_deployment_that_took_traffic_makes_its_version_the_champion(cloud, tmp_path):
    run(tmp_path)
    assert champions(cloud) == ["2"]
    assert "champion.previous" not in tags_of(cloud, "2")  # the first champion
    register_model(cloud, "3")

    said: list[str] = []
    run(tmp_path, said)

    assert champions(cloud) == ["3"]
    third = tags_of(cloud, "3")
    assert third["champion.previous"] == "2"  # where a rollback returns to
    assert third["champion.time"] == third["deploy.time"]
    assert "champion: diabetes-regressor:3 (was version 2)" in said


def test_the_default_is_the_newest_version_that_passed_the_gate_never_an_unjudged_one(
    cloud, tmp_path
):
    """The latest version may be one `invoke train --remote` registered, which no gate saw."""
    register_model(cloud, "3", tags={})
    run(tmp_path)
    blue = cloud.get(f"onlineEndpoints/{endpoint_of(cloud)['name']}/deployments/blue")
    assert blue["properties"]["model"].endswith("/versions/2")


def test_with_nothing_newer_than_the_champion_nothing_is_deployed(cloud, tmp_path):
    run(tmp_path)
    requests = len(cloud.requests)
    said: list[str] = []
    summary = tmp_path / "summary.md"

    assert run(tmp_path, said, environ={"GITHUB_STEP_SUMMARY": str(summary)}) == {}

    assert said == [
        "nothing deployed: no version newer than the champion (diabetes-regressor:2) passed the "
        "gate; `invoke deploy --model-version 2` deploys the champion again"
    ]
    assert not [r for r in cloud.requests[requests:] if r.method == "PUT"]
    assert "nothing deployed: no version newer than the champion" in summary.read_text()


def test_a_named_version_that_did_not_pass_the_gate_is_refused_in_one_line(cloud, tmp_path):
    register_model(cloud, "3", tags={})
    with pytest.raises(
        UserError, match=r"^diabetes-regressor:3 did not pass the gate .*--skip-gate"
    ):
        run(tmp_path, model_version="3")
    assert cloud.children("onlineEndpoints") == []


def test_skip_gate_deploys_it_anyway_and_says_so_on_the_version(cloud, tmp_path):
    register_model(cloud, "3", tags={})
    run(tmp_path, model_version="3", skip_gate=True)
    third = tags_of(cloud, "3")
    assert (third["deploy.trigger"], third["deploy.gate"]) == (
        "manual",
        "gate skipped (--skip-gate)",
    )


def test_a_failed_smoke_request_moves_neither_traffic_nor_the_champion(cloud, tmp_path):
    run(tmp_path)
    register_model(cloud, "3")
    cloud.online_scorer = lambda deployment, body: Response(502, {"message": "boom"})
    summary = tmp_path / "summary.md"
    with pytest.raises(UserError, match="smoke request"):
        run(tmp_path, environ={"GITHUB_STEP_SUMMARY": str(summary)})
    assert champions(cloud) == ["2"]
    assert not any(key.startswith(("deploy.", "champion")) for key in tags_of(cloud, "3"))
    text = summary.read_text()
    assert text.startswith("### Deploy failed\n") and "| model | diabetes-regressor:3, " in text
    assert "**not deployed: deployment green failed its smoke request (502)" in text


def test_a_deployment_without_traffic_is_recorded_but_not_the_champion(cloud, tmp_path):
    run(tmp_path)
    register_model(cloud, "3")
    said: list[str] = []
    assert run(tmp_path, said, traffic=0) == {"green": 0, "blue": 100}
    assert champions(cloud) == ["2"]
    assert tags_of(cloud, "3")["deploy.traffic"] == "0"


def test_the_deployed_version_records_where_who_why_and_when(cloud, tmp_path):
    tags = {**PASSED, "git.commit": "abc"}
    register_model(cloud, "2", tags)
    said: list[str] = []
    environ = {"GITHUB_ACTOR": "octocat", "GITHUB_SERVER_URL": "https://github.com",
               "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "7"}  # fmt: skip
    run(tmp_path, said, environ=environ)
    register_model(cloud, "3")
    run(tmp_path, traffic=10, model_version="3")

    name = endpoint_of(cloud)["name"]
    second = tags_of(cloud, "2")
    assert {k: v for k, v in second.items() if not k.endswith("time")} == {
        **tags,  # the governance record stays
        "deploy.endpoint": name,
        "deploy.slot": "blue",
        "deploy.traffic": "100",
        "deploy.trigger": "gate",
        "deploy.gate": "passed",
        "deploy.by": "octocat",
        "deploy.run_url": "https://github.com/o/r/actions/runs/7",
    }  # and the champion mark went to version 3
    assert second["deploy.time"].endswith("Z")
    third = tags_of(cloud, "3")
    assert (third["deploy.slot"], third["deploy.traffic"]) == ("green", "10")
    assert (third["deploy.trigger"], third["champion"]) == ("manual", "true")
    assert f"recorded on {MODEL}:2: {name}/blue, 100% of traffic" in said


def test_in_github_actions_the_summary_has_the_metrics_the_decision_and_links(cloud, tmp_path):
    tags = {**PASSED, "evaluation.champion": "version 1", "evaluation.champion_score": "53",
            "pipeline.run": "pipe-7"}  # fmt: skip
    register_model(cloud, "2", tags)
    summary = tmp_path / "summary.md"
    run(tmp_path, environ={"GITHUB_STEP_SUMMARY": str(summary)})

    text = summary.read_text()
    name = endpoint_of(cloud)["name"]
    assert text.startswith(f"### Deploy {MODEL}:2\n")
    assert "| test_rmse (primary) | 52.5 | 53 |" in text
    assert "| champion (version 1) |" in text
    assert f"**deployed {MODEL}:2 to {name}/blue: blue 100%**" in text
    assert (
        "[pipeline pipe-7 in Studio](https://ml.azure.com/runs/pipe-7?wsid=/subscriptions/" in text
    )
    assert f"[endpoint {name} in Studio](https://ml.azure.com/endpoints/realtime/{name}/" in text


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"model_version": "2", "pipeline_job": "p"}, "give one"),
        ({"skip_gate": True}, "--skip-gate goes with --model-version"),
        ({"rollback": True, "model_version": "2"}, "--rollback takes no other flag"),
        ({"rollback": True, "traffic": 10}, "--rollback takes no other flag"),
        ({"slot": "red"}, "not a deployment slot"),
    ],
)
def test_flags_that_contradict_each_other_are_refused_before_anything_is_contacted(
    cloud, tmp_path, flags, message
):
    with pytest.raises(UserError, match=message):
        run(tmp_path, **flags)
    assert not cloud.requests
