"""The champion and the governance record in the workspace registry, through azure-ai-ml: which
version serves, whether a version passed the gate, what a version's tags say (`invoke lineage
--remote`), and the records `invoke deploy` adds: the deployment, and the champion mark.

Azure ML's registry documents no model aliases, so the champion is the version tag
`champion=true` (`champion.py` explains the mark). The pipeline's register step registers a
version that passed the gate; the mark moves here, after a deployment of it passed its smoke
request and took traffic (`crown`), or after a rollback. A model version's tags and description
are the only things that may change after it is registered, which is all this module changes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from diabetes_model.champion import TAG
from diabetes_model.errors import UserError


def champion_version(client: Any, name: str) -> str | None:
    """The highest version of `name` tagged champion=true, or None."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        tagged = [
            int(model.version)
            for model in client.models.list(name=name)
            if (model.tags or {}).get(TAG) == "true"
        ]
    except ResourceNotFoundError:
        return None
    return str(max(tagged)) if tagged else None


def version_tags(client: Any, name: str, version: str) -> dict[str, str]:
    """The tags of one registered version; a missing one is one line with where to look."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return dict(client.models.get(name, version=version).tags or {})
    except ResourceNotFoundError:
        raise UserError(
            f"version {version} of model '{name}' is not registered in the workspace; "
            "`az ml model list --name NAME` lists its versions"
        ) from None


def add_tags(
    client: Any, name: str, version: str, tags: Mapping[str, str], remove: tuple[str, ...] = ()
) -> None:
    """Add tags to a registered version, and take the `remove` ones off (same model files, same
    version)."""
    model = client.models.get(name, version=version)
    kept = {k: v for k, v in (model.tags or {}).items() if k not in remove}
    model.tags = {**kept, **tags}
    client.models.create_or_update(model)


def gate_verdict(tags: Mapping[str, str]) -> str | None:
    """How a version passed the pipeline's gate ("passed", or "promoted anyway" when
    --promote-anyway overrode it), or None: it failed, or the pipeline never judged it."""
    if tags.get("promoted_anyway") == "true":
        return "promoted anyway"
    if tags.get("evaluation.result") == "passed":
        return "passed"
    return None


def crown(
    client: Any,
    name: str,
    version: str,
    record: Mapping[str, str],
    previous: str | None,
    retired: Mapping[str, str] | None = None,
) -> None:
    """Make `version` the champion with `record` (the deployment or rollback) on it, then take
    the mark off every other version (`previous`, the champion it replaces, also gets `retired`).
    Set first, removed second: readers take the highest tagged version, and a version lower than
    the old champion (a rollback) must not stay second to it, so a removal that fails is an error
    that says how to finish."""
    from azure.core.exceptions import ResourceNotFoundError

    from diabetes_model.errors import first_line

    add_tags(client, name, version, {**record, TAG: "true"})
    try:
        marked = {str(m.version) for m in client.models.list(name=name) if _marked(m)}
    except ResourceNotFoundError:
        marked = set()
    for old in sorted(marked - {version} | ({previous} - {None, version}), key=int):
        try:
            extra = dict(retired or {}) if old == previous else {}
            add_tags(client, name, old, extra, remove=(TAG,))
        except Exception as error:  # the new mark is set; say how to finish by hand
            raise UserError(
                f"version {version} is the champion, but version {old} keeps its {TAG} tag "
                f"({first_line(error)}); remove it: az ml model update --name {name} "
                f"--version {old} --remove tags.{TAG}"
            ) from None


def _marked(model: Any) -> bool:
    return (model.tags or {}).get(TAG) == "true"


def utc_stamp(when: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if when is None else when))


def deployment_record(endpoint: str, slot: str, traffic: int, when: float | None = None) -> dict:
    """The tags `invoke deploy` adds to the version it deployed: where, how much traffic, when."""
    stamp = utc_stamp(when)
    return {
        "deploy.endpoint": endpoint,
        "deploy.slot": slot,
        "deploy.traffic": str(traffic),
        "deploy.time": stamp,
    }


def remote_record(project: Any, text: str) -> Any:
    """`invoke lineage --remote`: a version of the workspace registry (default: the champion)."""
    from diabetes_model.azure.workspace import workspace_client
    from diabetes_model.lineage import VersionRecord, parse_model

    name, version = parse_model(text, project.settings.model_name)
    with workspace_client(project.azure) as client:
        champion = champion_version(client, name)
        if version is None and champion is None:
            raise UserError(
                f"model '{name}' has no version tagged {TAG}=true in the workspace: run "
                "`invoke pipeline --remote`, or name a version (invoke lineage --remote --model NAME:VERSION)"
            )
        version = version or champion
        tags = version_tags(client, name, str(version))
    return VersionRecord(
        name, str(version), tags, champion == version, "Azure ML workspace registry"
    )
