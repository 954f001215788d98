"""What `invoke azure-setup` sets up, worked out from the settings without calling anything: the
names, the cluster of azureml/compute.yml, the repository, the federated credentials' subjects,
the ARM template's parameters and the roles (the steps: workstation/azure_setup.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diabetes_model.errors import UserError
from diabetes_model.settings import merge

if TYPE_CHECKING:
    from diabetes_model.project import Project

TEMPLATE = Path("infra") / "main.json"
DEPLOYMENT_NAME = "diabetes-model-infra"
# What the workflows log in as: train.yml and drift.yml run on `main`, deploy.yml in the
# `production` environment (README: Log in from GitHub Actions with OIDC).
BRANCH = "main"
ENVIRONMENT = "production"
ISSUER = "https://token.actions.githubusercontent.com"
AUDIENCE = "api://AzureADTokenExchange"
DATA_SCIENTIST = "AzureML Data Scientist"
COMPUTE_OPERATOR = "AzureML Compute Operator"
# Who may assign roles (Microsoft.Authorization/roleAssignments/write), for the error's fix.
ROLE_ADMINS = "Owner, User Access Administrator or Role Based Access Control Administrator"

# Naming rules of Azure (resource groups, Azure ML workspaces and computes, regions) and GitHub.
_NAMES = {
    "resource group": (r"[-\w.()]{0,89}[-\w()]", "1-90 letters, digits, '-', '_', '.', '(', ')'"),
    "workspace": (r"[A-Za-z0-9][-\w]{2,32}", "3-33 letters, digits, '-' or '_', no leading '-'"),
    "cluster": (
        r"[A-Za-z][-A-Za-z0-9]{1,15}",
        "2-16 letters, digits or '-', starting with a letter",
    ),
    "location": (r"[a-z][a-z0-9]{2,}", "a region name such as eastus or westeurope"),
    "repository": (r"[-\w.]+/[-\w.]+", "OWNER/NAME"),
    "app name": (r"[^\s].{0,119}", "1-120 characters"),
}


@dataclass(frozen=True)
class SetupSettings:
    """invoke.yaml's `setup:` section."""

    # Region of a new resource group and workspace (an existing group keeps its own).
    location: str = "eastus"
    # Display name of the app registration that GitHub Actions logs in as.
    app_name: str = "diabetes-model-github"

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> SetupSettings:
        return merge(cls, [("invoke.yaml (setup:)", config or {})])


@dataclass(frozen=True)
class Cluster:
    """The training cluster, as azureml/compute.yml describes it."""

    name: str
    size: str
    min_nodes: int
    max_nodes: int
    idle_seconds: int
    priority: str  # Dedicated or LowPriority

    @classmethod
    def from_spec(cls, path: Path) -> Cluster:
        import yaml

        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        tier = str(spec.get("tier", "dedicated")).replace("_", "").lower()
        return cls(
            name=str(spec["name"]),
            size=str(spec.get("size", "Standard_DS3_v2")),
            min_nodes=int(spec.get("min_instances", 0)),
            max_nodes=int(spec.get("max_instances", 1)),
            idle_seconds=int(spec.get("idle_time_before_scale_down", 900)),
            priority="LowPriority" if tier == "lowpriority" else "Dedicated",
        )


@dataclass(frozen=True)
class Target:
    """What to set up, from flags, invoke.yaml and the environment."""

    resource_group: str
    workspace: str
    location: str
    repo: str
    app_name: str
    cluster: Cluster
    template: Path
    subscription: str = ""  # empty: az's current subscription
    location_given: bool = False  # an explicit --location wins over an existing group's region
    compute_operator: bool = False

    def check(self) -> Target:
        """Refuse a missing or malformed name in one line, before any az call."""
        given = {
            "resource group": (self.resource_group, "AZURE_RESOURCE_GROUP (or --resource-group)"),
            "workspace": (self.workspace, "AZUREML_WORKSPACE_NAME (or --workspace)"),
            "cluster": (self.cluster.name, "name: in azureml/compute.yml"),
            "location": (self.location, "--location (or setup.location in invoke.yaml)"),
            "repository": (self.repo, "--repo OWNER/NAME"),
            "app name": (self.app_name, "--app-name (or setup.app_name in invoke.yaml)"),
        }
        for what, (value, where) in given.items():
            pattern, rule = _NAMES[what]
            if not value:
                raise UserError(f"no {what} given: set {where}")
            if not re.fullmatch(pattern, value):
                raise UserError(f"bad {what} name {value!r}: use {rule}; set {where}")
        if not self.template.is_file():
            raise UserError(
                f"{self.template} is missing: restore it from git (git checkout -- infra)"
            )
        return self


def target_from(
    project: Project,
    config: Mapping[str, Any] | None,
    location: str = "",
    app_name: str = "",
    repo: str = "",
    compute_operator: bool = False,
) -> Target:
    """The target from the project's settings (workspace: flags > environment > config.json),
    invoke.yaml's `setup:` and this task's flags; the repository defaults to git's `origin`."""
    from diabetes_model.gitinfo import git

    settings = SetupSettings.from_config(config)
    azure = project.azure
    return Target(
        resource_group=azure.resource_group,
        workspace=azure.workspace_name,
        location=location or settings.location,
        repo=repo or repo_from_remote(git(project.root, "remote", "get-url", "origin")),
        app_name=app_name or settings.app_name,
        cluster=Cluster.from_spec(project.specs.compute),
        template=project.root / TEMPLATE,
        subscription=azure.subscription_id,
        location_given=bool(location),
        compute_operator=compute_operator,
    ).check()


def repo_from_remote(url: str | None) -> str:
    """OWNER/NAME of a GitHub remote URL (https or ssh), or "" for anything else."""
    found = re.fullmatch(
        r"(?:https://|ssh://git@|git@)github\.com[:/]([^/]+/[^/]+?)(?:\.git)?/?", url or ""
    )
    return found.group(1) if found else ""


def federated_credentials(repo: str) -> list[dict[str, Any]]:
    """The two credentials GitHub's OIDC tokens are exchanged with: `main`, and `production`."""
    subjects = {
        "github-main": f"repo:{repo}:ref:refs/heads/{BRANCH}",
        f"github-{ENVIRONMENT}": f"repo:{repo}:environment:{ENVIRONMENT}",
    }
    return [
        {"name": name, "issuer": ISSUER, "subject": subject, "audiences": [AUDIENCE]}
        for name, subject in subjects.items()
    ]


def deployment_parameters(target: Target, create_workspace: bool, location: str) -> list[str]:
    """`--parameters` of infra/main.json: the workspace and the cluster of azureml/compute.yml."""
    cluster = target.cluster
    values = {
        "location": location,
        "workspaceName": target.workspace,
        "createWorkspace": str(create_workspace).lower(),
        "clusterName": cluster.name,
        "vmSize": cluster.size,
        "vmPriority": cluster.priority,
        "minNodeCount": cluster.min_nodes,
        "maxNodeCount": cluster.max_nodes,
        "nodeIdleTimeBeforeScaleDown": f"PT{cluster.idle_seconds}S",
    }
    return [f"{name}={value}" for name, value in values.items()]


def roles(target: Target) -> list[str]:
    """The app's roles on the workspace. The template creates the cluster, so the workflows need
    Compute Operator only when one of them runs `invoke compute` (--compute-operator)."""
    return [DATA_SCIENTIST, *([COMPUTE_OPERATOR] if target.compute_operator else [])]
