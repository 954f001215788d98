"""Azure settings: defaults < invoke.yaml (`azure:`) < config.json < environment < flags.

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
from diabetes_model.settings import checked_fields

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


@dataclass(frozen=True)
class AzureSettings:
    """Which workspace, which specs, which cluster, and who hears about finished jobs."""

    subscription_id: str = ""
    resource_group: str = ""
    workspace_name: str = ""
    # Empty: the compute named in the job spec.
    compute: str = ""
    job_spec: str = "azureml/train.yml"
    sweep_spec: str = "azureml/sweep.yml"
    data_spec: str = "azureml/data.yml"
    environment_spec: str = "azureml/environment.yml"
    compute_spec: str = "azureml/compute.yml"
    # Where --dry-run writes the resolved job.
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
        values: dict[str, Any] = {}
        values.update(checked_fields(cls, config or {}, "invoke.yaml (azure:)"))
        values.update(
            {k: str(v) for k, v in (config_json or {}).items() if k in WORKSPACE_KEYS and v}
        )
        environ = environ or {}
        for name, (variable, _) in WORKSPACE_KEYS.items():
            if environ.get(variable):
                values[name] = environ[variable]
        flags = {key: value for key, value in (flags or {}).items() if value}  # "" = not given
        values.update(checked_fields(cls, flags, "flags"))
        settings = cls(**values)
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

    def path(self, root: Path, name: str) -> Path:
        """One of the spec or output paths, resolved against the project root."""
        path = Path(getattr(self, name))
        return path if path.is_absolute() else root / path


def read_config_json(root: Path) -> dict[str, Any]:
    """The workspace config.json from the project root (or .azureml/), if there is one."""
    for name in CONFIG_FILES:
        path = root / name
        if path.is_file():
            try:
                config = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as error:
                raise UserError(f"{path} is not valid JSON ({error}); download it again") from None
            if not isinstance(config, dict):
                raise UserError(f"{path} is not a workspace config; download it again")
            return config
    return {}
