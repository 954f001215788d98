"""`invoke azure-setup`: create or reuse, with `az`, everything the Azure workflows need.

The resource group; the workspace, its storage, key vault and insights, and the cluster of
azureml/compute.yml (one ARM template, infra/main.json); an app registration that GitHub Actions logs
in as (OIDC: federated credentials for `main` and the `production` environment, no secret); its role
on the workspace; and the GitHub secrets and variables (`invoke github-secrets`). Every step reads
first and creates only what is missing, so a second run changes nothing; `dry_run` only reads.

The names, ids and az arguments are worked out by pure functions (azure_setup_plan.py); `Az` is
the edge that runs az (az.py); here are the steps.
Ids (subscription, tenant, app) are never printed, and the steps name the resource group and the
workspace by role, not by value, as `invoke doctor` does; az's messages are redacted of every id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from diabetes_model.azure.settings import Workspace
from diabetes_model.console import Say
from diabetes_model.errors import UserError
from diabetes_model.workstation import github_secrets

if TYPE_CHECKING:
    pass

from diabetes_model.workstation.az import Az, GhRunner, az_answer
from diabetes_model.workstation.azure_setup_plan import (
    DEPLOYMENT_NAME,
    ISSUER,
    ROLE_ADMINS,
    TEMPLATE,
    Target,
    deployment_parameters,
    federated_credentials,
    roles,
)


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

    def outcome(self, found: bool) -> str:
        """What a step did with one piece: reused it, or created it (would, in a dry run)."""
        if found:
            return "reused"
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
            found = az_answer("read the resource group", group.stdout).get("location")
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
        say(f"resource group ({run.location}): {run.outcome(False)}")
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
                    where = az_answer("read the workspace", done.stdout).get("location")
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
        + run.outcome(found["workspace"])
    )
    say(
        f"cluster {target.cluster.name} ({target.cluster.size}, {target.cluster.min_nodes}-"
        f"{target.cluster.max_nodes} nodes): " + run.outcome(found["cluster"])
    )
    run.workspace_found = found["workspace"]


def _app_registration(run: _Run) -> None:
    """The app registration GitHub Actions logs in as, and its service principal."""
    target, az = run.target, run.az
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
    found_app = str(apps[0]["appId"]) if apps else ""
    create_app = ("ad", "app", "create", "--display-name", target.app_name)
    run.app_id = _found_or_created(run, f"app registration {target.app_name}", found_app,
                                   create_app, "appId", app_fix)  # fmt: skip
    az.secrets.append(run.app_id)

    found_principal = ""
    if run.app_id:
        principals = az(
            f"look up the service principal of {target.app_name}",
            "ad", "sp", "list", "--filter", f"appId eq '{run.app_id}'", "--output", "json",
        )  # fmt: skip
        found_principal = str(principals[0]["id"]) if principals else ""
    create_principal = ("ad", "sp", "create", "--id", run.app_id)
    run.principal = _found_or_created(run, f"service principal of {target.app_name}",
                                      found_principal, create_principal, "id", app_fix)  # fmt: skip
    az.secrets.append(run.principal)


def _found_or_created(
    run: _Run, what: str, found: str, create: Sequence[str], key: str, fix: str
) -> str:
    """The id of what was found, or of what `create` makes (none in a dry run); says which."""
    created = ""
    if not found and not run.dry_run:
        created = str(run.az(f"create the {what}", *create, "--output", "json", fix=fix)[key])
    run.say(f"{what}: {run.outcome(bool(found))}")
    return found or created


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
        say(f"federated credential {wanted['subject']}: " + run.outcome(bool(same)))


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
        say(f"role {role} for {target.app_name} on the workspace: " + run.outcome(has))


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
