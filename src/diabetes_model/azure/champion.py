"""The champion and the governance record in the workspace registry, through azure-ai-ml: which
version serves (`invoke deploy`'s default), what a version's tags say (`invoke lineage --remote`),
and the deployment record `invoke deploy` adds to the version it deployed.

Azure ML's registry documents no model aliases, so the champion is the version tag
`champion=true` (`champion.py` explains the mark; the pipeline's register step sets it through
MLflow inside the job). A model version's tags and description are the only things that may
change after it is registered, which is all this module changes.
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


def add_tags(client: Any, name: str, version: str, tags: Mapping[str, str]) -> None:
    """Add tags to a registered version (same model files, same version)."""
    model = client.models.get(name, version=version)
    model.tags = {**(model.tags or {}), **tags}
    client.models.create_or_update(model)


def deployment_record(endpoint: str, slot: str, traffic: int, when: float | None = None) -> dict:
    """The tags `invoke deploy` adds to the version it deployed: where, how much traffic, when."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if when is None else when))
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
