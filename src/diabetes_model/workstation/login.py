"""`invoke login`: log az in with the service principal from the environment, else a device code.

`plan` (pure) says which az commands to run; `login` runs them through the caller's runner (invoke's
`c.run`): never echoed, output hidden except the device-code prompt, the client secret given on
stdin rather than in az's arguments, and failures reported with every secret value replaced by ***.
"""

from __future__ import annotations

import io
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from diabetes_model.errors import UserError
from diabetes_model.workstation.doctor import SECRETS, redact, secret_values

SERVICE_PRINCIPAL = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")


@dataclass(frozen=True)
class Step:
    """One az command, what it does, and what it reads on stdin; commands are never echoed."""

    what: str
    argv: tuple[str, ...]
    stdin: str = field(default="", repr=False)

    @property
    def command(self) -> str:
        return shlex.join(self.argv)


def plan(environ: Mapping[str, str], device_code: bool = False) -> list[Step]:
    """The az commands that log in and point az at the workspace from the environment."""
    values = {name: environ.get(name, "") for name in SECRETS}
    steps: list[Step] = []
    if not device_code and all(values[name] for name in SERVICE_PRINCIPAL):
        steps.append(
            Step(
                "log in with the service principal (AZURE_CLIENT_ID)",
                (
                    "az",
                    "login",
                    "--service-principal",
                    "--username",
                    values["AZURE_CLIENT_ID"],
                    # az reads an argument written @- from stdin: in its arguments, `ps` would
                    # show the secret to every user while az runs. `=` keeps a value that starts
                    # with '-' from being taken for a flag once az has put it in place.
                    "--password=@-",
                    "--tenant",
                    values["AZURE_TENANT_ID"],
                    "--output",
                    "none",
                ),
                stdin=values["AZURE_CLIENT_SECRET"],
            )
        )
    else:
        tenant = ("--tenant", values["AZURE_TENANT_ID"]) if values["AZURE_TENANT_ID"] else ()
        steps.append(
            Step(
                "log in with a device code (open the link, enter the code)",
                ("az", "login", "--use-device-code", *tenant, "--output", "none"),
            )
        )
    if values["AZURE_SUBSCRIPTION_ID"]:
        steps.append(
            Step(
                "select the subscription in AZURE_SUBSCRIPTION_ID",
                ("az", "account", "set", "--subscription", values["AZURE_SUBSCRIPTION_ID"]),
            )
        )
    names = {"group": "AZURE_RESOURCE_GROUP", "workspace": "AZUREML_WORKSPACE_NAME"}
    defaults = [f"{key}={values[name]}" for key, name in names.items() if values[name]]
    if defaults:
        steps.append(
            Step(
                "set the az defaults for the resource group and workspace",
                ("az", "configure", "--defaults", *defaults),
            )
        )
    return steps


Runner = Callable[..., Any]


def login(run: Runner, environ: Mapping[str, str], device_code: bool = False) -> list[str]:
    """Run the plan with `run` (invoke's `c.run`); returns what was done, one line per step.

    Raises `UserError` with az's message, secrets replaced, when a step fails.
    """
    secrets = secret_values(environ)
    done = []
    for step in plan(environ, device_code):
        # The device-code prompt must reach the user; every other step runs silently.
        interactive = "--use-device-code" in step.argv
        # invoke copies in_stream to the command's stdin and closes it at the end (pty=False).
        stdin = {"in_stream": io.StringIO(step.stdin), "echo_stdin": False} if step.stdin else {}
        result = run(step.command, echo=False, warn=True, hide=not interactive, pty=False, **stdin)
        if result.failed:
            raise UserError(f"could not {step.what}: {redact(_reason(result), secrets)}")
        done.append(step.what)
    return done


def _reason(result: Any) -> str:
    lines = [line.strip() for line in (result.stderr or result.stdout or "").splitlines()]
    errors = [line for line in lines if line.startswith("ERROR")] or [x for x in lines if x]
    return errors[0] if errors else f"az exited with code {result.exited}"
