"""The edge of `invoke azure-setup`: `az` run as a subprocess, its JSON read, and its refusals
turned into one line that names the role to ask for (ids redacted)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from diabetes_model.errors import UserError, first_line
from diabetes_model.workstation.doctor import redact

# Any id (subscription, tenant, app, principal) in az's messages is shown as ***.
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


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


def az_answer(what: str, text: str) -> Any:
    """az's JSON answer (None for none); text that is not JSON is one line saying to update az."""
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
        return az_answer(what, done.stdout)

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
