"""The champion: the registered model version currently meant to serve, and how the registry marks
it, through MLflow.

- In an MLflow registry (the project's own store, an MLflow server) the mark is the model alias
  `champion`: exactly one version holds it, and moving it is one call. The pipeline's register
  step moves it to every version that passes the gate: locally there is no endpoint to wait for.
- Azure ML's registry does not document aliases, so there the mark is the version tag
  `champion=true`, and a reader takes the highest version that carries it. It moves only when
  `invoke deploy` has deployed a version and its smoke request passed, or `invoke deploy
  --rollback` moved traffic back: `azure/champion.py` sets and removes it with azure-ai-ml. The
  pipeline reads it here (`find_champion`) to judge a candidate against what serves. A project
  without the deploy parts has nothing that serves: its register step sets the tag on each version
  it promotes (`--champion-on registration`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

ALIAS = "champion"
TAG = "champion"


@dataclass(frozen=True)
class Champion:
    name: str
    version: str
    run_id: str | None

    @property
    def label(self) -> str:
        return f"{self.name}:{self.version}"


def marks_with_tag(tracking_uri: str) -> bool:
    """Whether the registry behind this tracking URI is Azure ML's (tag), not MLflow's (alias)."""
    return urlsplit(tracking_uri).scheme == "azureml"


def find_champion(client: Any, name: str, by_tag: bool) -> Champion | None:
    """The current champion of model `name`, or None (no such model, or nothing marked)."""
    from mlflow.exceptions import MlflowException

    if by_tag:
        tagged = [v for v in versions(client, name) if v.tags.get(TAG) == "true"]
        if not tagged:
            return None
        newest = max(tagged, key=lambda v: int(v.version))
        return Champion(name, str(newest.version), newest.run_id)
    try:
        aliases = client.get_registered_model(name).aliases
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    if ALIAS not in aliases:
        return None
    version = client.get_model_version(name, str(aliases[ALIAS]))
    return Champion(name, str(version.version), version.run_id)


def crown(client: Any, name: str, version: str, by_tag: bool = False) -> Champion | None:
    """Make `version` the champion (the alias; in Azure ML's registry the tag, which makes the
    newest tagged version the champion); returns the one it replaces (None if there was none)."""
    previous = find_champion(client, name, by_tag)
    if by_tag:
        client.set_model_version_tag(name, version, TAG, "true")
    else:
        client.set_registered_model_alias(name, ALIAS, version)
    return previous


def versions(client: Any, name: str) -> list[Any]:
    """Every version of model `name` (none when it is not registered). Filtered by name only:
    Azure ML's MLflow registry is not documented to filter by run or tag."""
    from mlflow.exceptions import MlflowException

    try:
        return list(client.search_model_versions(f"name='{_quoted(name)}'"))
    except MlflowException as error:  # a registry that answers "no such model" instead of []
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return []
        raise


def version_of_run(client: Any, name: str, run_id: str) -> str | None:
    """The version of `name` registered from this run already, if any: registering the same
    training twice would make two versions of one model."""
    found = [str(v.version) for v in versions(client, name) if v.run_id == run_id]
    return max(found, key=int) if found else None


def _quoted(name: str) -> str:
    return name.replace("'", "\\'")
