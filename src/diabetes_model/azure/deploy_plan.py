"""`invoke deploy --dry-run`: the endpoint, deployment and monitor specs resolved as `invoke deploy`
would apply them, written under outputs/azureml/deploy/; nothing is contacted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diabetes_model.azure import assets, monitor, rollout
from diabetes_model.console import Say
from diabetes_model.errors import UserError
from diabetes_model.job_specs import load_spec
from diabetes_model.project import Project

if TYPE_CHECKING:
    from diabetes_model.azure.deploy import Request


def write_plan(project: Project, request: Request, say: Say) -> dict[str, int]:
    """Write the resolved specs; returns the traffic the deployment would end with."""
    from azure.ai.ml import load_online_endpoint

    from diabetes_model.azure.deploy import deployment_entity, endpoint_name

    specs, model_name = project.specs, project.settings.model_name
    out = project.path(project.deploy.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    try:
        name = endpoint_name(project)
    except UserError:  # no workspace configured: still show the specs
        name = str(load_spec(specs.endpoint)["name"])
        say(f"no workspace configured: endpoint shown as {name}; Azure will use {name}-<hash>")
    slot = request.slot or "blue"
    version = request.model_version
    reference = f"azureml:{model_name}:{version}" if version else ""
    endpoint = load_online_endpoint(specs.endpoint, params_override=[{"name": name}])
    deployment = deployment_entity(project, slot, name, reference or f"azureml:{model_name}@latest")
    _, deployment.environment = assets.environment_reference(specs.environment)
    # The written spec lives elsewhere: make its code folder absolute so that it loads from there.
    code = deployment.code_configuration.code
    deployment.code_configuration.code = str((specs.folder / code).resolve())
    written = [
        dump(endpoint, out / "endpoint.yml", specs.endpoint),
        dump(deployment, out / f"{slot}.yml", specs.deployment(slot)),
    ]
    if request.monitor:
        emails = monitor.alert_emails(project.azure)
        latest = f"azureml:{monitor.reference_name(specs)}@latest"
        target, task = monitor.target_and_task(project)
        schedule = monitor.monitor_schedule(specs, name, slot, latest, emails, target, task)
        written.append(dump(schedule, out / "monitor.yml", specs.monitor))
    traffic = rollout.new_traffic(slot, request.traffic, set(rollout.SLOTS))
    say(f"would deploy {_which(model_name, request)} to {slot} on endpoint {name}")
    alone = rollout.describe_traffic({slot: 100})
    say(
        f"then, after a smoke request, traffic {rollout.describe_traffic(traffic)} "
        f"({alone} while {rollout.other_slot(slot)} does not exist)"
    )
    shown = ", ".join(project.shown(path) for path in written)
    say(f"resolved specs: {shown} (nothing was contacted)")
    return traffic


def dump(entity: Any, path: Path, schema_from: Path) -> Path:
    """The entity as YAML under the `$schema` of the spec it came from (the SDK's `dump` does
    not write every kind of entity to a file)."""
    import yaml

    schema = load_spec(schema_from)["$schema"]
    plain = json.loads(json.dumps(entity._to_dict()))  # OrderedDicts to dicts
    text = yaml.safe_dump({"$schema": schema, **plain}, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def _which(model_name: str, request: Request) -> str:
    if request.model_version:
        return f"{model_name}:{request.model_version}"
    if request.pipeline_job:
        return f"the version of {model_name} that pipeline {request.pipeline_job} registered"
    return f"the newest version of {model_name} that passed the gate"
