"""Azure settings: defaults < invoke.yaml (`azure:`, `deploy:`) < config.json < environment < flags.

The workspace comes from AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP and AZUREML_WORKSPACE_NAME, or
from the config.json that Azure ML Studio offers for download (the file the SDK and `az ml` read).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diabetes_model.errors import UserError
from diabetes_model.settings import merge

# What each workspace setting is called in the environment, in config.json and as a flag.
WORKSPACE_KEYS = {
    "subscription_id": ("AZURE_SUBSCRIPTION_ID", "--subscription"),
    "resource_group": ("AZURE_RESOURCE_GROUP", "--resource-group"),
    "workspace_name": ("AZUREML_WORKSPACE_NAME", "--workspace"),
}
CONFIG_FILES = ("config.json", ".azureml/config.json")
EMAIL_EVENTS = ("JobCompleted", "JobFailed", "JobCancelled")


@dataclass(frozen=True)
class Workspace:
    subscription_id: str
    resource_group: str
    workspace_name: str

    @property
    def arm_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.workspace_name}"
        )


@dataclass(frozen=True)
class AzureSettings:
    """Which workspace, which cluster, and who hears about finished jobs."""

    subscription_id: str = ""
    resource_group: str = ""
    workspace_name: str = ""
    # Empty: the compute named in the job spec.
    compute: str = ""
    # Where --dry-run (and every submission) writes the resolved job.
    output_dir: str = "outputs/azureml"
    # E-mail addresses Azure ML writes to when a job ends; empty: no e-mail.
    notify_emails: tuple[str, ...] = ()
    notify_on: tuple[str, ...] = EMAIL_EVENTS

    @classmethod
    def from_sources(
        cls,
        config: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        flags: Mapping[str, Any] | None = None,
        config_json: Mapping[str, Any] | None = None,
    ) -> AzureSettings:
        environ = environ or {}
        settings = merge(
            cls,
            [
                ("invoke.yaml (azure:)", config or {}),
                (
                    "config.json",
                    {
                        k: str(v)
                        for k, v in (config_json or {}).items()
                        if k in WORKSPACE_KEYS and v
                    },
                ),
                (
                    "the environment",
                    {
                        name: environ.get(variable) or None
                        for name, (variable, _) in WORKSPACE_KEYS.items()
                    },
                ),
                (
                    "flags",
                    {key: value for key, value in (flags or {}).items() if value},
                ),  # "" = not given
            ],
        )
        bad = [event for event in settings.notify_on if event not in EMAIL_EVENTS]
        if bad:
            raise UserError(
                f"notify_on has unknown events {bad} in invoke.yaml (azure:); "
                f"use any of {', '.join(EMAIL_EVENTS)}"
            )
        return settings

    def workspace(self) -> Workspace:
        """The workspace, or one error naming every missing setting and how to set it."""
        missing = [name for name in WORKSPACE_KEYS if not getattr(self, name)]
        if missing:
            how = ", ".join(f"{WORKSPACE_KEYS[n][0]} (or {WORKSPACE_KEYS[n][1]})" for n in missing)
            raise UserError(
                f"no Azure ML workspace configured: set {how}, "
                "or put the workspace's config.json (Azure ML Studio > workspace menu > "
                "Download config file) in the project root"
            )
        return Workspace(self.subscription_id, self.resource_group, self.workspace_name)


@dataclass(frozen=True)
class DeploySettings:
    """invoke.yaml's `deploy:` section."""

    # Empty: the spec's name plus a hash of the workspace id (names are unique per region).
    endpoint_name: str = ""
    # Where `invoke deploy --dry-run` writes the resolved specs.
    output_dir: str = "outputs/azureml/deploy"

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> DeploySettings:
        return merge(cls, [("invoke.yaml (deploy:)", config or {})])


def read_config_json(root: Path) -> dict[str, Any]:
    """The workspace config.json from the project root (or .azureml/), if there is one."""
    for name in CONFIG_FILES:
        path = root / name
        if path.is_file():
            try:
                config = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise UserError(f"{path} is not valid JSON ({error}); download it again") from None
            if not isinstance(config, dict):
                raise UserError(f"{path} is not a workspace config; download it again")
            return config
    return {}
