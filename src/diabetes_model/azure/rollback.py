"""`invoke deploy --rollback`: traffic back to the slot that still runs the previous champion,
and the champion mark with it, recorded on both versions.

The previous champion is the one the current champion replaced (its `champion.previous` tag,
set by `invoke deploy`); blue/green keeps it running in the other slot until the next deployment
takes that slot. Nothing to roll back to (no champion, a first champion, or a slot that no longer
runs the previous one) is one line and nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from diabetes_model.azure import champion, endpoints, rollout
from diabetes_model.azure.workspace import azure_errors
from diabetes_model.errors import UserError

if TYPE_CHECKING:
    from diabetes_model.azure.deploy_report import Report
    from diabetes_model.project import Project


def roll_back(project: Project, report: Report, client_factory: Callable[..., Any]) -> dict:
    """Roll back; returns the endpoint's traffic afterwards."""
    from diabetes_model.azure.deploy import endpoint_name

    workspace = project.azure.workspace()
    client = client_factory(workspace)
    with azure_errors(workspace):
        endpoint = endpoints.get_endpoint(client, endpoint_name(project))
        name = project.settings.model_name
        current, previous, slot = target(client, name, endpoint.name)
        traffic = {other: 0 for other in endpoints.traffic(endpoint)} | {slot: 100}
        endpoint.traffic = traffic
        client.online_endpoints.begin_create_or_update(endpoint).result()
        report.step("traffic now", rollout.describe_traffic(traffic))
        _record(client, name, current, previous, endpoint.name, slot, report)
        report.link_endpoint(endpoint.name)
        report.summarize(
            f"Rollback of {name}:{current}",
            f"rolled back: {name}:{previous} on {endpoint.name}/{slot} serves again",
        )
    return traffic


def target(client: Any, name: str, endpoint: str) -> tuple[str, str, str]:
    """(the champion, the champion before it, the slot that runs that one), or why not."""
    current = champion.champion_version(client, name)
    if current is None:
        raise UserError(
            f"nothing to roll back to: no version of {name} is the champion (tagged "
            "champion=true); deploy one with `invoke deploy`"
        )
    previous = champion.version_tags(client, name, current).get("champion.previous")
    if not previous:
        raise UserError(
            f"nothing to roll back to: {name}:{current} is the first champion `invoke deploy` "
            "recorded (it has no champion.previous tag)"
        )
    slots = endpoints.slot_versions(client, endpoint, name)
    found = sorted(slot for slot, version in slots.items() if version == previous)
    if not found:
        running = ", ".join(f"{slot} runs version {v}" for slot, v in sorted(slots.items()))
        raise UserError(
            f"nothing to roll back to: {name}:{previous}, the champion before version {current}, "
            f"runs on no slot of {endpoint} any more ({running or 'no slots'}); deploy it again: "
            f"invoke deploy --model-version {previous}"
        )
    return current, previous, found[0]


def _record(
    client: Any, name: str, current: str, previous: str, endpoint: str, slot: str, report: Report
) -> None:
    """The champion mark back on `previous`, and the rollback on both versions' records."""
    record = champion.deployment_record(endpoint, slot, 100)
    by, run_url = report.who()
    when = record["deploy.time"]
    restored = record | {"deploy.trigger": "rollback", "deploy.by": by, "rollback.from": current}
    restored |= {"rollback.time": when, "champion.time": when}
    if run_url:
        restored["deploy.run_url"] = run_url
    retired = {"rollback.to": previous, "rollback.time": when, "deploy.traffic": "0"}
    champion.crown(client, name, previous, restored, current, retired)
    report.step("champion", f"{name}:{previous} again (version {current} rolled back)")
