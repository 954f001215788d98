"""`invoke deploy`: put the registered model on an Azure ML managed online endpoint, blue/green.

1. resolve the model version registered in the workspace (--model-version, default the latest) and
   the content-hashed environment (azureml/environment.yml, shared with training);
2. create the endpoint (azureml/endpoint.yml) if it is not there;
3. deploy to the idle slot (azureml/deployment-blue.yml or -green.yml) with no traffic yet;
4. send it a smoke request straight to that deployment; on failure traffic stays where it was;
5. move traffic (--traffic percent to the new slot, the rest to the other), and with --monitor
   create or update the drift monitor (azureml/monitor.yml) on the new slot.

--dry-run resolves and writes the specs under outputs/azureml/deploy/ and contacts nothing.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diabetes_model.azure import assets, specs
from diabetes_model.azure.settings import AzureSettings
from diabetes_model.azure.workspace import azure_errors, connect
from diabetes_model.errors import UserError
from diabetes_model.serving import rollout
from diabetes_model.settings import checked_fields

Say = Callable[[str], None]
SMOKE_ROWS = 3


@dataclass(frozen=True)
class DeploySettings:
    """invoke.yaml's `deploy:` section: the specs, and the endpoint name if you choose one."""

    # Empty: the spec's name plus a hash of the workspace id (names are unique per region).
    endpoint_name: str = ""
    endpoint_spec: str = "azureml/endpoint.yml"
    blue_spec: str = "azureml/deployment-blue.yml"
    green_spec: str = "azureml/deployment-green.yml"
    monitor_spec: str = "azureml/monitor.yml"
    # Where --dry-run writes the resolved specs.
    output_dir: str = "outputs/azureml/deploy"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DeploySettings:
        return cls(**checked_fields(cls, config, "invoke.yaml (deploy:)"))

    def path(self, root: Path, name: str) -> Path:
        path = Path(getattr(self, name))
        return path if path.is_absolute() else root / path

    def deployment_spec(self, root: Path, slot: str) -> Path:
        return self.path(root, f"{rollout.check_slot(slot)}_spec")


@dataclass(frozen=True)
class Request:
    """What to deploy and how: everything the task's flags decide."""

    root: Path
    model_name: str
    smoke_rows: Any  # a DataFrame of feature rows for the smoke request
    model_version: str = ""
    slot: str = ""
    traffic: int = 100
    monitor: bool = False
    reference_csv: Path | None = None


def run_task(
    root: Path,
    project: Any,
    azure: AzureSettings,
    config: Mapping[str, Any],
    *,
    model_version: str = "",
    traffic: int = 100,
    slot: str = "",
    monitor: bool = False,
    dry_run: bool = False,
    say: Say = print,
) -> dict[str, int]:
    """What `invoke deploy` calls: settings and flags in, the endpoint's traffic out."""
    request = Request(
        root=root,
        model_name=project.model_name,
        smoke_rows=smoke_rows(Path(project.data_path), project.target, project.features),
        model_version=model_version,
        slot=slot,
        traffic=traffic,
        monitor=monitor,
        reference_csv=Path(project.data_path),
    )
    return deploy(request, DeploySettings.from_config(config), azure, dry_run=dry_run, say=say)


def smoke_rows(data_path: Path, target: str, features: Sequence[str]) -> Any:
    """A few feature rows to score: from the training data, else scikit-learn's diabetes data
    (CI deploys without a data/ folder)."""
    from diabetes_model.dataset import load_dataset

    if data_path.is_file():
        return load_dataset(data_path, target, features)[list(features)].head(SMOKE_ROWS)
    from sklearn.datasets import load_diabetes

    bundled = load_diabetes(as_frame=True, scaled=False).frame
    missing = [f for f in features if f not in bundled.columns]
    if missing:
        raise UserError(f"{data_path} not found: run `invoke data` so the smoke request has rows")
    return bundled[list(features)].head(SMOKE_ROWS)


def deploy(
    request: Request,
    settings: DeploySettings,
    azure: AzureSettings,
    *,
    dry_run: bool = False,
    say: Say = print,
    client_factory: Callable[..., Any] = connect,
) -> dict[str, int]:
    """Deploy, smoke-test and shift traffic; returns the endpoint's traffic afterwards."""
    root = request.root
    if request.slot:
        rollout.check_slot(request.slot)
    rollout.new_traffic("blue", request.traffic, ())  # validates the percentage up front
    emails = _alert_emails(azure) if request.monitor else ()
    if request.monitor and not dry_run:
        _reference_csv(request)  # before anything is deployed
    if dry_run:
        return _dry_run(request, settings, azure, say)

    workspace = azure.workspace()
    client = client_factory(workspace)
    with azure_errors(workspace):
        model = _model_version(client, request.model_name, request.model_version)
        environment = assets.ensure_environment(client, azure.path(root, "environment_spec"), say)
        name = endpoint_name(settings, root, azure)
        endpoint = _ensure_endpoint(client, settings, root, name)
        deployments = {d.name for d in client.online_deployments.list(endpoint_name=endpoint.name)}
        current = {k: int(v) for k, v in (endpoint.traffic or {}).items()}
        slot = request.slot or rollout.idle_slot(current, deployments)
        say(f"endpoint {endpoint.name}: {rollout.describe_traffic(current)}")
        say(f"deploying {request.model_name}:{model} to {slot} (this takes several minutes)")
        deployment = _deployment(settings, root, slot, endpoint.name, request.model_name, model)
        deployment.environment = environment
        _create_deployment(client, deployment)
        predictions = smoke_test(client, endpoint.name, slot, request.smoke_rows)
        say(f"smoke request to {slot}: {len(predictions)} predictions ({_preview(predictions)})")
        traffic = rollout.new_traffic(slot, request.traffic, deployments | {slot})
        endpoint.traffic = traffic
        client.online_endpoints.begin_create_or_update(endpoint).result()
        say(f"traffic now: {rollout.describe_traffic(traffic)}")
        say(f"scoring URI: {endpoint.scoring_uri}")
        if request.monitor:
            _apply_monitor(client, request, settings, endpoint.name, slot, emails, say)
    return traffic


def _create_deployment(client: Any, deployment: Any) -> None:
    """Create or update the slot; a failure names the logs to read (init() errors land there)."""
    from azure.core.exceptions import HttpResponseError

    from diabetes_model.azure.workspace import first_line

    try:
        client.online_deployments.begin_create_or_update(deployment).result()
    except HttpResponseError as error:
        if error.status_code in (401, 403):
            raise  # credentials: azure_errors says what to do
        raise UserError(
            f"deployment {deployment.name} did not start ({first_line(error)}); traffic is "
            f"unchanged. Its logs: {_logs_command(deployment.endpoint_name, deployment.name)}"
        ) from None


def _logs_command(endpoint_name: str, slot: str) -> str:
    return f"az ml online-deployment get-logs --endpoint-name {endpoint_name} --name {slot}"


def smoke_test(client: Any, endpoint_name: str, slot: str, rows: Any) -> list[float]:
    """Score a few rows on the new deployment alone (before it has traffic); refuse a bad answer."""
    from azure.core.exceptions import HttpResponseError

    from diabetes_model.serving.contract import example_request

    logs = _logs_command(endpoint_name, slot)
    with tempfile.TemporaryDirectory() as folder:
        body = Path(folder) / "smoke.json"
        body.write_text(json.dumps(example_request(rows)), encoding="utf-8")
        try:
            answer = client.online_endpoints.invoke(
                endpoint_name=endpoint_name, deployment_name=slot, request_file=str(body)
            )
        except HttpResponseError as error:
            raise UserError(
                f"deployment {slot} failed its smoke request ({error.status_code}); traffic is "
                f"unchanged. Its logs: {logs}"
            ) from None
    predictions = _predictions(answer)
    if len(predictions) != len(rows) or not all(math.isfinite(p) for p in predictions):
        raise UserError(
            f"deployment {slot} answered the smoke request with {str(answer)[:200]!r}, not "
            f"{len(rows)} predictions; traffic is unchanged. Its logs: {logs}"
        )
    return predictions


def _predictions(answer: Any) -> list[float]:
    payload = answer
    for _ in range(2):  # invoke() returns the body text; a JSON string may hold JSON again
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except ValueError:
                return []
    if isinstance(payload, dict):
        payload = payload.get("predictions")
    if not isinstance(payload, list):
        return []
    try:
        return [float(p) for p in payload]
    except (TypeError, ValueError):
        return []


def _model_version(client: Any, name: str, version: str) -> str:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        if version:
            return str(client.models.get(name, version=version).version)
        return str(client.models.get(name, label="latest").version)
    except ResourceNotFoundError:
        what = f"version {version} of model '{name}'" if version else f"model '{name}'"
        raise UserError(
            f"{what} is not registered in the workspace: train remotely "
            "(`invoke train --remote --stream`) or pick one from `az ml model list`"
        ) from None


def endpoint_name(settings: DeploySettings, root: Path, azure: AzureSettings) -> str:
    """The configured name, else the spec's name plus a hash of the workspace's ARM id."""
    if settings.endpoint_name:
        return rollout.check_endpoint_name(settings.endpoint_name)
    base = str(specs.load_spec(settings.path(root, "endpoint_spec"))["name"])
    workspace = azure.workspace()
    arm_id = (
        f"/subscriptions/{workspace.subscription_id}/resourceGroups/{workspace.resource_group}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace.workspace_name}"
    )
    return rollout.endpoint_name(base, arm_id)


def _ensure_endpoint(client: Any, settings: DeploySettings, root: Path, name: str) -> Any:
    from azure.ai.ml import load_online_endpoint
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return client.online_endpoints.get(name)
    except ResourceNotFoundError:
        endpoint = load_online_endpoint(
            settings.path(root, "endpoint_spec"), params_override=[{"name": name}]
        )
        return client.online_endpoints.begin_create_or_update(endpoint).result()


def _deployment(
    settings: DeploySettings, root: Path, slot: str, endpoint: str, model_name: str, version: str
) -> Any:
    from azure.ai.ml import load_online_deployment

    return load_online_deployment(
        settings.deployment_spec(root, slot),
        params_override=[{"endpoint_name": endpoint}, {"model": f"azureml:{model_name}:{version}"}],
    )


def _apply_monitor(
    client: Any,
    request: Request,
    settings: DeploySettings,
    endpoint: str,
    slot: str,
    emails: Sequence[str],
    say: Say,
) -> None:
    reference = _ensure_reference(client, settings, request, say)
    schedule = _monitor(settings, request.root, endpoint, slot, reference, emails)
    client.schedules.begin_create_or_update(schedule).result()
    say(f"monitor {schedule.name}: {slot} against {reference}, alerts to {', '.join(emails)}")


def _monitor(
    settings: DeploySettings,
    root: Path,
    endpoint: str,
    slot: str,
    reference: str,
    emails: Sequence[str],
) -> Any:
    # `az ml schedule create` loads schedules with this function; azure.ai.ml does not re-export it.
    from azure.ai.ml.entities._load_functions import load_schedule

    prefix = "create_monitor."
    signal = f"{prefix}monitoring_signals.input_drift.reference_data.input_data.path"
    return load_schedule(
        settings.path(root, "monitor_spec"),
        params_override=[
            {f"{prefix}monitoring_target.endpoint_deployment_id": f"azureml:{endpoint}:{slot}"},
            {f"{prefix}alert_notification.emails": list(emails)},
            {signal: reference},
        ],
    )


MLTABLE = """\
$schema: https://azuremlschemas.azureedge.net/latest/MLTable.schema.json
type: mltable
paths:
  - file: ./{file}
transformations:
  - read_delimited:
      delimiter: ","
      encoding: utf8
      header: all_files_same_headers
"""


def _ensure_reference(client: Any, settings: DeploySettings, request: Request, say: Say) -> str:
    """The training data as the MLTable asset the monitor compares against (content-hashed)."""
    from azure.ai.ml.constants import AssetTypes
    from azure.ai.ml.entities import Data
    from azure.core.exceptions import ResourceNotFoundError

    csv = _reference_csv(request)
    name = _reference_name(settings, request.root)
    version = specs.file_hash(csv)
    try:
        client.data.get(name=name, version=version)
        say(f"reference data {name}:{version} (reused)")
    except ResourceNotFoundError:
        with tempfile.TemporaryDirectory() as folder:
            shutil.copyfile(csv, Path(folder) / csv.name)
            (Path(folder) / "MLTable").write_text(MLTABLE.format(file=csv.name), encoding="utf-8")
            data = Data(name=name, version=version, type=AssetTypes.MLTABLE, path=folder)
            client.data.create_or_update(data)
        say(f"reference data {name}:{version} (registered)")
    return f"azureml:{name}:{version}"


def _reference_csv(request: Request) -> Path:
    csv = request.reference_csv
    if csv is None or not csv.is_file():
        raise UserError(
            f"--monitor compares with the training data, but {csv} is missing; run `invoke data`"
        )
    return csv


def _reference_name(settings: DeploySettings, root: Path) -> str:
    spec = specs.load_spec(settings.path(root, "monitor_spec"))
    signal = spec["create_monitor"]["monitoring_signals"]["input_drift"]
    path = str(signal["reference_data"]["input_data"]["path"])
    return path.removeprefix("azureml:").split("@")[0].split(":")[0]


def _alert_emails(azure: AzureSettings) -> tuple[str, ...]:
    if not azure.notify_emails:
        raise UserError(
            "--monitor needs someone to alert: set azure.notify_emails in invoke.yaml "
            "(or INVOKE_AZURE_NOTIFY_EMAILS=you@example.org)"
        )
    return tuple(azure.notify_emails)


def _dry_run(
    request: Request, settings: DeploySettings, azure: AzureSettings, say: Say
) -> dict[str, int]:
    root = request.root
    out = settings.path(root, "output_dir")
    out.mkdir(parents=True, exist_ok=True)
    try:
        name = endpoint_name(settings, root, azure)
    except UserError:  # no workspace configured: still show the specs
        name = str(specs.load_spec(settings.path(root, "endpoint_spec"))["name"])
        say(f"no workspace configured: endpoint shown as {name}; Azure will use {name}-<hash>")
    slot = request.slot or "blue"
    model = request.model_version or "latest"
    from azure.ai.ml import load_online_endpoint

    endpoint = load_online_endpoint(
        settings.path(root, "endpoint_spec"), params_override=[{"name": name}]
    )
    deployment = _deployment(settings, root, slot, name, request.model_name, model)
    if model == "latest":
        deployment.model = f"azureml:{request.model_name}@latest"
    _, deployment.environment = assets.environment_reference(azure.path(root, "environment_spec"))
    # The written spec lives elsewhere: make its code folder absolute so that it loads from there.
    spec_dir = settings.deployment_spec(root, slot).parent
    code = deployment.code_configuration.code
    deployment.code_configuration.code = str((spec_dir / code).resolve())
    written = [
        _dump(endpoint, out / "endpoint.yml", settings.path(root, "endpoint_spec")),
        _dump(deployment, out / f"{slot}.yml", settings.deployment_spec(root, slot)),
    ]
    if request.monitor:
        emails = _alert_emails(azure)
        reference = f"azureml:{_reference_name(settings, root)}@latest"
        monitor = _monitor(settings, root, name, slot, reference, emails)
        written.append(_dump(monitor, out / "monitor.yml", settings.path(root, "monitor_spec")))
    traffic = rollout.new_traffic(slot, request.traffic, set(rollout.SLOTS))
    say(f"would deploy {request.model_name}:{model} to {slot} on endpoint {name}")
    alone = rollout.describe_traffic({slot: 100})
    say(
        f"then, after a smoke request, traffic {rollout.describe_traffic(traffic)} "
        f"({alone} while {rollout.other_slot(slot)} does not exist)"
    )
    say(f"resolved specs: {', '.join(str(p) for p in written)} (nothing was contacted)")
    return traffic


def _dump(entity: Any, path: Path, schema_from: Path) -> Path:
    """The entity as YAML under the `$schema` of the spec it came from (the SDK's `dump` does
    not write every kind of entity to a file)."""
    import yaml

    schema = specs.load_spec(schema_from)["$schema"]
    plain = json.loads(json.dumps(entity._to_dict()))  # OrderedDicts to dicts
    text = yaml.safe_dump({"$schema": schema, **plain}, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def _preview(predictions: Sequence[float]) -> str:
    return ", ".join(f"{p:.1f}" for p in predictions[:3])
