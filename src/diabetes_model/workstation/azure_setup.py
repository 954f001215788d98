"""`invoke azure-setup`: create or reuse, with `az`, everything the Azure workflows need.

The resource group; the workspace, its storage, key vault and insights, and the cluster of
azureml/compute.yml (one ARM template, infra/main.json); an app registration that GitHub Actions logs
in as (OIDC: federated credentials for `main` and the `production` environment, no secret); its role
on the workspace; and the GitHub secrets and variables (`invoke github-secrets`). Every step reads
first and creates only what is missing, so a second run changes nothing; `dry_run` only reads.

The names, ids and az arguments are worked out by pure functions; `Az` is the edge that runs az.
Ids (subscription, tenant, app) are never printed, and the steps name the resource group and the
workspace by role, not by value, as `invoke doctor` does; az's messages are redacted of every id.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diabetes_model.azure.settings import Workspace
from diabetes_model.console import Say
from diabetes_model.errors import UserError, first_line
from diabetes_model.settings import merge
from diabetes_model.workstation import github_secrets
from diabetes_model.workstation.doctor import redact

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

_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
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


# --- the edge: az ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Done:
    code: int
    stdout: str
    stderr: str

    @property
    def missing(self) -> bool:
        """az's answer for a resource that is not there (exit code 3 since az 2.x)."""
        text = self.stderr
        return self.code != 0 and (
            self.code == 3
            or "NotFound" in text
            or "could not be found" in text
            or "was not found" in text
        )


Runner = Callable[[Sequence[str]], Done]
GhRunner = Callable[[Sequence[str], str], tuple[int, str]]
# How Azure (ARM, Microsoft Graph) says that the account lacks a role.
_DENIED = (
    "AuthorizationFailed",
    "Authorization_RequestDenied",
    "Insufficient privileges",
    "Forbidden",
)


def _json(what: str, text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        raise UserError(
            f"could not {what}: az did not answer in JSON ({first_line(text)[:80]}); "
            "update the Azure CLI (az upgrade), rerun"
        ) from None


def run_az(argv: Sequence[str]) -> Done:
    """Run one az command, its output captured (az's own messages are redacted before showing)."""
    try:
        done = subprocess.run(
            ["az", *argv], capture_output=True, text=True, timeout=1800, check=False
        )
    except FileNotFoundError:
        raise UserError(
            "the Azure CLI (az) is not installed: the devcontainer has it; elsewhere install it "
            "(https://aka.ms/installazurecli), run `az login`, rerun"
        ) from None
    return Done(done.returncode, done.stdout, done.stderr)


class Az:
    """az through `runner`; failures become one redacted line with a fix."""

    def __init__(self, runner: Runner = run_az, subscription: str = "") -> None:
        self.runner = runner
        self.subscription = subscription
        self.secrets: list[str] = []

    def __call__(self, what: str, *argv: str, arm: bool = False, fix: str = "") -> Any:
        """Run az, return its JSON output (None when empty); raise UserError naming `what`."""
        done = self.read(*argv, arm=arm)
        if done.code != 0:
            raise self.error(what, done, fix)
        return _json(what, done.stdout)

    def read(self, *argv: str, arm: bool = False) -> Done:
        subscription = ["--subscription", self.subscription] if arm and self.subscription else []
        return self.runner([*argv, *subscription, "--only-show-errors"])

    def error(self, what: str, done: Done, fix: str = "") -> UserError:
        text = done.stderr or done.stdout
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        reason = next((line for line in lines if line.startswith("ERROR")), first_line(text))
        reason = _GUID.sub("***", redact(reason.removeprefix("ERROR:").strip(), self.secrets))
        if "az login" in text or ("AADSTS" in text and "expired" in text):
            fix = "log in first: `invoke login` (or `az login`), then rerun"
        elif not any(sign in text for sign in _DENIED):
            fix = ""
        return UserError(
            f"could not {what}: {reason or f'az exit code {done.code}'}"
            + (f" ({fix})" if fix else "")
        )


# --- the steps ---------------------------------------------------------------------------------


@dataclass
class _Run:
    """One run of the steps: what to set up, az, where lines go, and what is known so far."""

    target: Target
    az: Az
    say: Say
    dry_run: bool
    workspace: Workspace
    location: str
    group_found: bool = False
    workspace_found: bool = False
    app_id: str = ""
    principal: str = ""

    @property
    def verb(self) -> str:
        return "would create" if self.dry_run else "created"


def setup(
    target: Target,
    az: Az,
    say: Say = print,
    dry_run: bool = False,
    github: bool = True,
    gh_runner: GhRunner = github_secrets.run_gh,
) -> None:
    """Create or reuse each piece in order, one line per step: created, reused or would create."""
    account = az("read the Azure account", "account", "show", "--output", "json", arm=True)
    subscription, tenant = str(account["id"]), str(account["tenantId"])
    az.secrets += [subscription, tenant]
    workspace = Workspace(subscription, target.resource_group, target.workspace)
    run = _Run(target, az, say, dry_run, workspace, target.location)
    _resource_group(run)
    _workspace_and_cluster(run)
    _app_registration(run)
    _federated_credentials(run)
    _roles(run)
    if github:
        _github(run, subscription, tenant, gh_runner)
    else:
        say("GitHub secrets and variables: skipped (--skip-github)")


def _resource_group(run: _Run) -> None:
    """The resource group: reused, or created in the target's location."""
    target, az, say = run.target, run.az, run.say
    group = az.read("group", "show", "--name", target.resource_group, "--output", "json", arm=True)
    if group.code == 0:
        run.group_found = True
        if not target.location_given:
            found = _json("read the resource group", group.stdout).get("location")
            run.location = found or run.location
        say("resource group: reused")
    elif group.missing:
        if not run.dry_run:
            az(
                "create the resource group",
                "group", "create", "--name", target.resource_group, "--location", run.location,
                "--tags", "project=diabetes-model", "--output", "none",
                arm=True,
                fix="creating a resource group needs Contributor or Owner on the subscription; "
                "ask for the group to be created and rerun",
            )  # fmt: skip
        say(f"resource group ({run.location}): {run.verb}")
    else:
        raise az.error("read the resource group", group)


def _workspace_and_cluster(run: _Run) -> None:
    """The workspace and its dependencies, and the cluster: one deployment of the template."""
    target, az, say = run.target, run.az, run.say
    found = {"workspace": False, "cluster": False}
    if run.group_found:
        for name, resource_id in (
            ("workspace", run.workspace.arm_id),
            ("cluster", f"{run.workspace.arm_id}/computes/{target.cluster.name}"),
        ):
            done = az.read("resource", "show", "--ids", resource_id, "--output", "json")
            if done.code == 0:
                found[name] = True
                if name == "workspace":  # the cluster goes where its workspace is
                    where = _json("read the workspace", done.stdout).get("location")
                    run.location = where or run.location
            elif not done.missing:
                raise az.error(f"read the {name}", done)
            if not found["workspace"]:
                break
    if not all(found.values()) and not run.dry_run:
        say(f"deploying {TEMPLATE} to the resource group (a few minutes)...")
        az(
            f"deploy {TEMPLATE} (the workspace and the cluster {target.cluster.name})",
            "deployment", "group", "create", "--resource-group", target.resource_group,
            "--name", DEPLOYMENT_NAME, "--template-file", str(target.template),
            "--parameters", *deployment_parameters(target, not found["workspace"], run.location),
            "--output", "none",
            arm=True,
            fix="deploying needs Contributor or Owner on the resource group",
        )  # fmt: skip
    say(
        "workspace, with storage, key vault and Application Insights: "
        + ("reused" if found["workspace"] else run.verb)
    )
    say(
        f"cluster {target.cluster.name} ({target.cluster.size}, {target.cluster.min_nodes}-"
        f"{target.cluster.max_nodes} nodes): " + ("reused" if found["cluster"] else run.verb)
    )
    run.workspace_found = found["workspace"]


def _app_registration(run: _Run) -> None:
    """The app registration GitHub Actions logs in as, and its service principal."""
    target, az, say = run.target, run.az, run.say
    apps = az(
        f"look up the app registration {target.app_name}",
        "ad", "app", "list", "--display-name", target.app_name, "--output", "json",
    )  # fmt: skip
    apps = [app for app in apps or [] if app.get("displayName") == target.app_name]
    if len(apps) > 1:
        raise UserError(
            f"{len(apps)} app registrations are named {target.app_name}: delete the extra ones "
            "(Entra ID > App registrations) or pick another with --app-name, rerun"
        )
    app_fix = (
        "registering an app needs the Application Developer role in Microsoft Entra ID; or ask an "
        f"admin to create the app registration {target.app_name} and make you its owner, then rerun"
    )
    app_id = str(apps[0]["appId"]) if apps else ""
    if app_id:
        say(f"app registration {target.app_name}: reused")
    elif not run.dry_run:
        created = az(
            f"create the app registration {target.app_name}",
            "ad", "app", "create", "--display-name", target.app_name, "--output", "json",
            fix=app_fix,
        )  # fmt: skip
        app_id = str(created["appId"])
        say(f"app registration {target.app_name}: created")
    else:
        say(f"app registration {target.app_name}: would create")
    az.secrets.append(app_id)
    run.app_id = app_id

    principal = ""
    if app_id:
        principals = az(
            f"look up the service principal of {target.app_name}",
            "ad", "sp", "list", "--filter", f"appId eq '{app_id}'", "--output", "json",
        )  # fmt: skip
        principal = str(principals[0]["id"]) if principals else ""
    if principal:
        say(f"service principal of {target.app_name}: reused")
    elif not run.dry_run:
        created = az(
            f"create the service principal of {target.app_name}",
            "ad", "sp", "create", "--id", app_id, "--output", "json",
            fix=app_fix,
        )  # fmt: skip
        principal = str(created["id"])
        say(f"service principal of {target.app_name}: created")
    else:
        say(f"service principal of {target.app_name}: would create")
    az.secrets.append(principal)
    run.principal = principal


def _federated_credentials(run: _Run) -> None:
    """GitHub's token for `main` or `production` is exchanged for the app's through these."""
    target, az, say = run.target, run.az, run.say
    existing = []
    if run.app_id:
        existing = az(
            f"list the federated credentials of {target.app_name}",
            "ad", "app", "federated-credential", "list", "--id", run.app_id, "--output", "json",
        ) or []  # fmt: skip
    for wanted in federated_credentials(target.repo):
        same = [
            c
            for c in existing
            if c.get("subject") == wanted["subject"] and c.get("issuer") == ISSUER
        ]
        clash = [c for c in existing if c.get("name") == wanted["name"] and not same]
        if clash:
            raise UserError(
                f"the app registration {target.app_name} has a federated credential named "
                f"{wanted['name']} for {clash[0].get('subject')!r}, not {wanted['subject']!r}: "
                "delete it (Entra ID > App registrations > Certificates & secrets), rerun"
            )
        if not same and not run.dry_run:
            az(
                f"add the federated credential {wanted['name']} to {target.app_name}",
                "ad", "app", "federated-credential", "create", "--id", run.app_id,
                "--parameters", json.dumps(wanted), "--output", "none",
                fix=f"adding a credential needs ownership of the app registration {target.app_name}",
            )  # fmt: skip
        say(f"federated credential {wanted['subject']}: " + ("reused" if same else run.verb))


def _roles(run: _Run) -> None:
    """The app's roles on the workspace."""
    target, az, say = run.target, run.az, run.say
    assigned: list[dict[str, Any]] = []
    if run.principal and run.workspace_found:
        assigned = az(
            "list the role assignments on the workspace",
            "role", "assignment", "list", "--scope", run.workspace.arm_id, "--output", "json",
            arm=True,
        ) or []  # fmt: skip
    for role in roles(target):
        has = any(
            a.get("principalId") == run.principal and a.get("roleDefinitionName") == role
            for a in assigned
        )
        if not has and not run.dry_run:
            az(
                f"assign {role} to {target.app_name} on the workspace",
                "role", "assignment", "create", "--assignee-object-id", run.principal,
                # The principal type spares az a Graph lookup that fails while a new service
                # principal is still replicating.
                "--assignee-principal-type", "ServicePrincipal", "--role", role,
                "--scope", run.workspace.arm_id, "--output", "none",
                arm=True,
                fix=f"assigning roles needs {ROLE_ADMINS} on the workspace or its resource group; "
                "ask someone who has it to rerun `invoke azure-setup`",
            )  # fmt: skip
        say(
            f"role {role} for {target.app_name} on the workspace: "
            + ("reused" if has else run.verb)
        )


def _github(run: _Run, subscription: str, tenant: str, gh_runner: GhRunner) -> None:
    """The ids the workflows log in with, through `invoke github-secrets`."""
    target, say = run.target, run.say
    names = ", ".join((*github_secrets.WORKFLOW_SECRETS, *github_secrets.WORKFLOW_VARIABLES))
    if run.dry_run:
        say(f"GitHub secrets and variables of {target.repo} ({names}): would set")
        return
    values = {
        "AZURE_CLIENT_ID": run.app_id,
        "AZURE_TENANT_ID": tenant,
        "AZURE_SUBSCRIPTION_ID": subscription,
        "AZURE_RESOURCE_GROUP": target.resource_group,
        "AZUREML_WORKSPACE_NAME": target.workspace,
    }
    github_secrets.apply(github_secrets.plan(values), target.repo, runner=gh_runner)
    say(f"GitHub secrets and variables of {target.repo} ({names}): set")
