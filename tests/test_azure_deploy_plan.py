"""The endpoint, deployment and monitor specs, read by azure-ai-ml's own loaders, and --dry-run."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml
from azure.ai.ml import load_online_deployment, load_online_endpoint
from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint, MonitorSchedule
from azure.ai.ml.entities._load_functions import load_schedule
from projects import make_project

from diabetes_model.azure import deploy, monitor
from diabetes_model.azure.settings import DeploySettings
from diabetes_model.errors import UserError
from diabetes_model.serving.scorer import AZURE_INPUTS_COLLECTION, AZURE_OUTPUTS_COLLECTION

ROOT = Path(__file__).resolve().parents[1]
AZUREML = ROOT / "azureml"
SLOTS = ("blue", "green")


@pytest.mark.parametrize("name", ["endpoint", "deployment-blue", "deployment-green", "monitor"])
def test_every_spec_names_its_schema_for_the_editor(name):
    first = (AZUREML / f"{name}.yml").read_text().splitlines()[0]
    assert first.startswith("$schema: ")


def test_the_endpoint_is_managed_and_key_authenticated():
    endpoint = load_online_endpoint(AZUREML / "endpoint.yml")
    assert isinstance(endpoint, ManagedOnlineEndpoint)
    assert endpoint.auth_mode == "key"


@pytest.mark.parametrize("slot", SLOTS)
def test_each_deployment_runs_the_scoring_script_that_serve_runs(slot):
    deployment = load_online_deployment(AZUREML / f"deployment-{slot}.yml")
    assert isinstance(deployment, ManagedOnlineDeployment)
    assert deployment.name == slot
    code = (AZUREML / deployment.code_configuration.code).resolve()
    script = code / deployment.code_configuration.scoring_script
    assert script == ROOT / "src" / "diabetes_model" / "serving" / "score.py"
    functions = {
        n.name for n in ast.parse(script.read_text()).body if isinstance(n, ast.FunctionDef)
    }
    assert {"init", "run"} <= functions


@pytest.mark.parametrize("slot", SLOTS)
def test_each_deployment_collects_what_score_py_sends(slot):
    deployment = load_online_deployment(AZUREML / f"deployment-{slot}.yml")
    collections = deployment.data_collector.collections
    assert {AZURE_INPUTS_COLLECTION, AZURE_OUTPUTS_COLLECTION} <= set(collections)
    assert all(str(collections[n].enabled).lower() == "true" for n in collections)


def test_blue_and_green_differ_only_in_their_names():
    blue, green = (yaml.safe_load((AZUREML / f"deployment-{s}.yml").read_text()) for s in SLOTS)
    assert (blue.pop("name"), green.pop("name")) == SLOTS
    assert (blue.pop("tags"), green.pop("tags")) == ({"slot": "blue"}, {"slot": "green"})
    assert blue == green


def test_deployments_use_the_training_environment_and_the_registered_model():
    spec = yaml.safe_load((AZUREML / "deployment-blue.yml").read_text())
    environment = yaml.safe_load((AZUREML / "environment.yml").read_text())
    endpoint = yaml.safe_load((AZUREML / "endpoint.yml").read_text())
    assert spec["environment"] == f"azureml:{environment['name']}@latest"
    assert spec["model"] == "azureml:diabetes-regressor@latest"
    assert spec["endpoint_name"] == endpoint["name"]


def test_the_serving_environment_has_the_inference_server_and_data_collector():
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    names = {pin.split("==")[0] for pin in pins}
    assert {"azureml-inference-server-http", "azureml-ai-monitoring"} <= names


def test_the_monitor_is_a_drift_schedule_with_email_alerts_on_the_endpoint():
    schedule = load_schedule(AZUREML / "monitor.yml")
    assert isinstance(schedule, MonitorSchedule)
    monitor = schedule.create_monitor
    endpoint = yaml.safe_load((AZUREML / "endpoint.yml").read_text())["name"]
    assert monitor.monitoring_target.endpoint_deployment_id == f"azureml:{endpoint}:blue"
    assert monitor.alert_notification.emails
    signal = monitor.monitoring_signals["input_drift"]
    assert signal.alert_enabled
    assert signal.reference_data.input_data.type == "mltable"
    assert signal.metric_thresholds.numerical.population_stability_index == 0.2


def test_the_monitor_target_and_alerts_can_be_overridden_as_deploy_does():
    specs = make_project(ROOT).specs
    schedule = monitor.monitor_schedule(specs, "ep-1", "green", "azureml:ref:7", ["a@example.org"])
    created = schedule.create_monitor
    assert created.monitoring_target.endpoint_deployment_id == "azureml:ep-1:green"
    assert created.alert_notification.emails == ["a@example.org"]
    reference = created.monitoring_signals["input_drift"].reference_data.input_data.path
    assert reference.removeprefix("azureml:") == "ref:7"


def test_dry_run_writes_resolved_specs_and_contacts_nothing(tmp_path):
    project = make_project(tmp_path, azure={"notify_emails": ["ops@example.org"]})

    def no_client(*args, **kwargs):
        raise AssertionError("a dry run must not connect")

    said: list[str] = []
    traffic = deploy.deploy(
        project,
        deploy.Request(model_version="4", slot="green", traffic=10, monitor=True),
        dry_run=True,
        say=said.append,
        client_factory=no_client,
    )
    out = tmp_path / "outputs" / "deploy"
    assert traffic == {"green": 10, "blue": 90}
    resolved = load_online_deployment(out / "green.yml")
    assert resolved.model.removeprefix("azureml:") == "diabetes-regressor:4"
    environment = resolved.environment.removeprefix("azureml:")
    assert environment.startswith("diabetes-model-env:")  # pinned by content hash, not @latest
    script = Path(resolved.code_configuration.code) / resolved.code_configuration.scoring_script
    assert script.is_file()
    assert load_online_endpoint(out / "endpoint.yml").name == "diabetes-model"
    schedule = load_schedule(out / "monitor.yml").create_monitor
    assert schedule.alert_notification.emails == ["ops@example.org"]
    assert any("nothing was contacted" in line for line in said)


def test_the_endpoint_name_carries_a_workspace_hash_unless_set(tmp_path):
    def name(workspace: str, **deploy_settings) -> str:
        azure = {"subscription_id": "s", "resource_group": "rg", "workspace_name": workspace}
        return deploy.endpoint_name(
            make_project(tmp_path, azure=azure, deploy=deploy_settings, environ={})
        )

    derived = name("ws")
    assert derived.startswith("diabetes-model-") and len(derived) == len("diabetes-model-") + 6
    assert derived != name("ws2")
    assert name("ws", endpoint_name="my-endpoint") == "my-endpoint"


def test_monitor_without_anyone_to_alert_is_refused_before_anything_happens(tmp_path):
    project = make_project(tmp_path)
    with pytest.raises(UserError, match=r"azure\.notify_emails"):
        deploy.deploy(project, deploy.Request(monitor=True), dry_run=True, say=lambda line: None)
    assert not (tmp_path / "outputs").exists()


def test_unknown_deploy_settings_are_refused():
    with pytest.raises(UserError, match=r"unknown setting.*endpoint"):
        DeploySettings.from_config({"endpoint": "x"})


def test_the_monitor_follows_the_tables_task_target_and_column_types(tmp_path):
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame.rename(columns={"target": "species"})
    frame.to_csv(tmp_path / "iris.csv", index=False)
    settings = {"data_path": str(tmp_path / "iris.csv"), "target": "species", "features": []}
    project = make_project(tmp_path, project=settings, azure={"notify_emails": ["a@example.org"]})
    deploy.deploy(project, deploy.Request(monitor=True), dry_run=True, say=lambda line: None)

    written = load_schedule(tmp_path / "outputs" / "deploy" / "monitor.yml").create_monitor
    assert written.monitoring_target.ml_task == "classification"
    signal = written.monitoring_signals["input_drift"]
    assert signal.reference_data.data_column_names["target_column"] == "species"
    thresholds = signal.metric_thresholds
    assert thresholds.numerical.population_stability_index == 0.2
    assert thresholds.categorical.population_stability_index == 0.2
