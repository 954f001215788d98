"""`invoke github-secrets`: store what the workflows need in the GitHub repository, with `gh`.

The ids that `azure/login` (OIDC) needs become repository secrets; the resource group and workspace
names become repository variables. Values go to `gh` on stdin, never on its command line, and a dry
run shows only their names and lengths.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from diabetes_model.errors import UserError

# Read by the workflows that log in to Azure: train.yml, deploy.yml, drift.yml (tests/test_workflows.py
# checks they agree).
WORKFLOW_SECRETS = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID")
WORKFLOW_VARIABLES = ("AZURE_RESOURCE_GROUP", "AZUREML_WORKSPACE_NAME")


@dataclass(frozen=True)
class Assignment:
    """One repository secret or variable and the value it gets from the environment."""

    kind: Literal["secret", "variable"]
    name: str
    value: str

    def argv(self, repo: str | None) -> list[str]:
        """The gh command; without --body, gh reads the value from stdin."""
        return ["gh", self.kind, "set", self.name, *(["--repo", repo] if repo else [])]

    def describe(self, repo: str | None) -> str:
        return f"{' '.join(self.argv(repo))}  < value of ${self.name} ({len(self.value)} chars)"


def plan(environ: Mapping[str, str]) -> list[Assignment]:
    """What to set, from the same environment variables the codespace uses; all must be present."""
    names = WORKFLOW_SECRETS + WORKFLOW_VARIABLES
    missing = [name for name in names if not environ.get(name)]
    if missing:
        raise UserError(
            f"{', '.join(missing)} not set; export them (or set them as Codespaces secrets), rerun"
        )
    return [Assignment("secret", name, environ[name]) for name in WORKFLOW_SECRETS] + [
        Assignment("variable", name, environ[name]) for name in WORKFLOW_VARIABLES
    ]


def run_gh(argv: Sequence[str], value: str) -> tuple[int, str]:
    """Run one gh command with the value on stdin; (exit code, error text)."""
    try:
        done = subprocess.run(
            list(argv), input=value, capture_output=True, text=True, timeout=120, check=False
        )
    except FileNotFoundError:
        raise UserError(
            "the GitHub CLI (gh) is not installed; install it: https://cli.github.com"
        ) from None
    return done.returncode, done.stderr.strip()


def apply(
    assignments: Sequence[Assignment],
    repo: str | None = None,
    dry_run: bool = False,
    runner: Callable[[Sequence[str], str], tuple[int, str]] = run_gh,
) -> list[str]:
    """Set each secret/variable (or only describe it with `dry_run`); returns one line per item."""
    lines = []
    for item in assignments:
        if dry_run:
            lines.append(f"would run: {item.describe(repo)}")
            continue
        code, error = runner(item.argv(repo), item.value)
        if code != 0:
            for other in assignments:
                error = error.replace(other.value, "***")
            raise UserError(
                f"gh could not set the {item.kind} {item.name}: {error or f'exit code {code}'}"
                " (run 'gh auth login' first, or pass --repo OWNER/NAME)"
            )
        lines.append(f"set {item.kind} {item.name}")
    return lines
