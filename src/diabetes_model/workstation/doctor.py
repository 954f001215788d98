"""`invoke doctor`: what is ready in this workspace and what is not, each line with its fix.

Pure core: `checks(facts)` turns observations into rows and `render` lays them out as one table.
The observations are gathered by `diabetes_model.doctor_probes`; nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["ok", "warn", "FAIL", "skip"]

# The Codespaces secrets (devcontainer.json) and what each is for; all six are treated as secret.
SECRETS: dict[str, str] = {
    "AZURE_SUBSCRIPTION_ID": "subscription of the workspace",
    "AZURE_RESOURCE_GROUP": "resource group of the workspace",
    "AZUREML_WORKSPACE_NAME": "Azure ML workspace name",
    "AZURE_TENANT_ID": "tenant of the service principal",
    "AZURE_CLIENT_ID": "service principal (app) id",
    "AZURE_CLIENT_SECRET": "service principal secret",  # pragma: allowlist secret
}
# Needed for `invoke train --remote`; the login secrets are optional (device code works too).
REQUIRED_SECRETS = ("AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZUREML_WORKSPACE_NAME")
# The same three in the workspace config.json that Azure ML Studio offers for download.
CONFIG_JSON_KEYS = {
    "AZURE_SUBSCRIPTION_ID": "subscription_id",
    "AZURE_RESOURCE_GROUP": "resource_group",
    "AZUREML_WORKSPACE_NAME": "workspace_name",
}
GUID_SECRETS = ("AZURE_SUBSCRIPTION_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_ID")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
CODESPACES_FIX = "set the Codespaces secret (github.com/settings/codespaces) or export it"
ML_FIX = "az extension add --name ml --yes"
# environment.yml holds the runtime pins; the development tools come from pyproject's dev extra,
# so a conda update (which would not install them) is followed by the project's own install.
ENV_FIX = (
    "conda env update --name diabetes-model --file environment.yml && "
    "conda run --name diabetes-model python -m pip install -e '.[dev]'"
)


@dataclass(frozen=True)
class Check:
    """One row of the table: what was checked, how it stands, what was seen, how to fix it."""

    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class TrackingStore:
    """The MLflow tracking store as the doctor saw it (a display form of the URI, never secrets)."""

    kind: Literal["sqlite", "file", "azureml", "http", "other"]
    display: str
    exists: bool = False
    writable: bool = True
    # An SQLite store's state (tracking_store.store_state): ok, broken, outdated, newer.
    problem: str = ""
    fix: str = ""


@dataclass(frozen=True)
class Facts:
    """Everything the probes observed. `None` means "could not be observed" (tool missing etc.)."""

    python_version: str
    python_pin: str | None
    pins: Mapping[str, str]
    installed: Mapping[str, str | None]
    environ: Mapping[str, str]
    az_version: Mapping[str, Any] | None
    account: Mapping[str, Any] | None
    workspace: tuple[bool, str] | None
    tracking: TrackingStore
    hooks: bool | None
    # Workspace keys found in config.json (or .azureml/config.json); they stand in for the secrets.
    config_json: Mapping[str, str] = field(default_factory=dict)


def pins_from_environment(document: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
    """The Python pin and the exact `name==version` pip pins of a parsed environment.yml."""
    python_pin: str | None = None
    pins: dict[str, str] = {}
    for item in document.get("dependencies") or []:
        if isinstance(item, str) and item.startswith("python="):
            python_pin = item.split("=", 1)[1]
        elif isinstance(item, Mapping):
            for spec in item.get("pip") or []:
                name, sep, version = str(spec).partition("==")
                if sep:
                    pins[canonical_name(name)] = version.strip()
    return python_pin, pins


def pins_from_pyproject(document: Mapping[str, Any], extra: str = "dev") -> dict[str, str]:
    """The exact `name==version` pins of an optional-dependency group of a parsed pyproject.toml."""
    optional = (document.get("project") or {}).get("optional-dependencies") or {}
    pins: dict[str, str] = {}
    for spec in optional.get(extra) or []:
        name, sep, version = str(spec).partition("==")
        if sep:
            pins[canonical_name(name)] = version.strip()
    return pins


def canonical_name(name: str) -> str:
    """Distribution names compare case- and separator-insensitively (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def mask(name: str, value: str) -> str:
    """How a secret is shown: nothing of the client secret, at most two characters of the rest."""
    if name == "AZURE_CLIENT_SECRET" or len(value) < 8:
        return f"set (hidden, {len(value)} chars)"
    return f"set ({value[:2]}***, {len(value)} chars)"


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """The values `redact` must hide: the client secret, and the ids when they are GUIDs.

    A GUID cannot be part of a word, so replacing it anywhere is safe. The resource group and the
    workspace are names, not secrets, and a short one such as "rg" would cut words ("args") apart;
    an id given by name (az takes a subscription's name too) is left alone for the same reason.
    """
    ids = [environ.get(name, "") for name in GUID_SECRETS]
    values = [environ.get("AZURE_CLIENT_SECRET", ""), *(i for i in ids if _GUID.match(i))]
    return [value for value in values if value]


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret value in `text` by ***, longest first so no part of one survives.

    Give it secret values only (`secret_values`): every occurrence is replaced, inside words too.
    """
    for value in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(value, "***")
    return text


def check_python(facts: Facts) -> Check:
    running = ".".join(facts.python_version.split(".")[:2])
    if facts.python_pin and running != facts.python_pin:
        return Check(
            "Python environment",
            "FAIL",
            f"Python {facts.python_version}, environment.yml wants {facts.python_pin}",
            f"use the conda environment: conda activate diabetes-model (or {ENV_FIX})",
        )
    if not facts.pins:
        return Check("Python environment", "FAIL", "environment.yml has no pip pins", "restore it")
    wrong = [
        f"{name} {facts.installed.get(name) or 'missing'} (wants {want})"
        for name, want in sorted(facts.pins.items())
        if facts.installed.get(name) != want
    ]
    if wrong:
        shown = ", ".join(wrong[:3]) + (f" and {len(wrong) - 3} more" if len(wrong) > 3 else "")
        return Check("Python environment", "FAIL", shown, f"{ENV_FIX} (or pip install -e '.[dev]')")
    return Check(
        "Python environment",
        "ok",
        f"Python {facts.python_version}; {len(facts.pins)} pins match environment.yml and the dev extra",
    )


def check_azure_cli(facts: Facts) -> list[Check]:
    if facts.az_version is None:
        return [
            Check(
                "Azure CLI",
                "FAIL",
                "az not found",
                "install it: https://learn.microsoft.com/cli/azure/install-azure-cli",
            ),
            Check("Azure CLI ml extension", "skip", "needs the Azure CLI", "install the Azure CLI"),
        ]
    cli = Check("Azure CLI", "ok", f"azure-cli {facts.az_version.get('azure-cli', '?')}")
    extensions = facts.az_version.get("extensions") or {}
    if "azure-cli-ml" in extensions:
        ml = Check(
            "Azure CLI ml extension",
            "FAIL",
            "the retired v1 extension azure-cli-ml is installed (it conflicts with ml)",
            "az extension remove --name azure-cli-ml && az extension add --name ml --yes",
        )
    elif "ml" in extensions:
        ml = Check("Azure CLI ml extension", "ok", f"ml {extensions['ml']}")
    else:
        ml = Check("Azure CLI ml extension", "FAIL", "not installed", ML_FIX)
    return [cli, ml]


def check_secrets(environ: Mapping[str, str], config_json: Mapping[str, str]) -> list[Check]:
    rows = []
    for name, purpose in SECRETS.items():
        value = environ.get(name, "")
        if not value and config_json.get(CONFIG_JSON_KEYS.get(name, "")):
            rows.append(Check(name, "ok", f"not set; config.json gives {CONFIG_JSON_KEYS[name]}"))
        elif not value:
            status: Status = "FAIL" if name in REQUIRED_SECRETS else "warn"
            fix = (
                CODESPACES_FIX
                if name in REQUIRED_SECRETS
                else f"{CODESPACES_FIX}, or use invoke login"
            )
            rows.append(Check(name, status, f"missing ({purpose})", fix))
        elif name in GUID_SECRETS and not _GUID.match(value):
            rows.append(Check(name, "FAIL", f"{mask(name, value)}, not a GUID", "correct it"))
        else:
            rows.append(Check(name, "ok", mask(name, value)))
    return rows


def check_login(facts: Facts) -> Check:
    if facts.az_version is None:
        return Check("Azure login", "skip", "needs the Azure CLI", "install the Azure CLI")
    if facts.account is None:
        return Check("Azure login", "FAIL", "not logged in", "invoke login")
    kind = (facts.account.get("user") or {}).get("type", "account")
    kind = "service principal" if kind == "servicePrincipal" else kind
    wanted = facts.environ.get("AZURE_SUBSCRIPTION_ID") or facts.config_json.get("subscription_id")
    if wanted and facts.account.get("id") != wanted:
        return Check(
            "Azure login",
            "warn",
            f"logged in as {kind}, but the active subscription is not AZURE_SUBSCRIPTION_ID",
            'az account set --subscription "$AZURE_SUBSCRIPTION_ID"',
        )
    return Check("Azure login", "ok", f"logged in as {kind}")


def check_workspace(facts: Facts) -> Check:
    if facts.workspace is None:
        return Check("Azure ML workspace", "skip", "not checked", "invoke doctor --online")
    reachable, detail = facts.workspace
    if reachable:
        return Check("Azure ML workspace", "ok", detail)
    return Check(
        "Azure ML workspace",
        "FAIL",
        detail,
        "check AZURE_RESOURCE_GROUP, AZUREML_WORKSPACE_NAME and your role on the workspace",
    )


def check_tracking(store: TrackingStore) -> Check:
    name = "MLflow store"
    if store.kind in {"sqlite", "file"}:
        if not store.writable:
            return Check(name, "FAIL", f"{store.display} is not writable", "fix its permissions")
        if store.problem:
            return Check(name, "FAIL", f"{store.display}: {store.problem}", store.fix)
        state = "exists" if store.exists else "created by the first invoke train"
        return Check(name, "ok", f"{store.display} ({state})")
    if store.kind == "azureml":
        return Check(name, "ok", "Azure ML workspace tracking (MLFLOW_TRACKING_URI)")
    return Check(name, "ok", store.display)


def check_hooks(installed: bool | None) -> Check:
    if installed is None:
        return Check("git hooks", "skip", "not a git checkout", "git clone the repository")
    if installed:
        return Check("git hooks", "ok", "pre-commit hook installed")
    return Check("git hooks", "FAIL", "pre-commit hook not installed", "pre-commit install")


def checks(facts: Facts) -> list[Check]:
    """All rows, in the order a newcomer fixes them."""
    return [
        check_python(facts),
        *check_azure_cli(facts),
        *check_secrets(facts.environ, facts.config_json),
        check_login(facts),
        check_workspace(facts),
        check_tracking(facts.tracking),
        check_hooks(facts.hooks),
    ]


def render(rows: Sequence[Check], secrets: Iterable[str] = ()) -> str:
    """One plain-text table; every secret value that slipped into a row is replaced by ***."""
    header = ("", "check", "state", "fix")
    lines = [(row.status, row.name, row.detail, row.fix) for row in rows]
    # The status column is as wide as FAIL even when all is ok, so tables line up run to run.
    widths = [
        max(len(cells[i]) for cells in [header, *lines, ("FAIL", "", "", "")]) for i in range(3)
    ]
    out = []
    for cells in [header, *lines]:
        left = "  ".join(cell.ljust(width) for cell, width in zip(cells[:3], widths, strict=True))
        out.append(f"{left}  {cells[3]}".rstrip())
    failed = sum(row.status == "FAIL" for row in rows)
    out.append("")
    out.append(f"{failed} not ready; run the fix on each FAIL line." if failed else "All ready.")
    return redact("\n".join(out), secrets)


def failures(rows: Sequence[Check]) -> int:
    return sum(row.status == "FAIL" for row in rows)
