"""Stand-ins for az, conda, gh, npm and sudo (tests/bin) on a PATH that holds nothing else.

Each stand-in appends its argv to a call log and keeps a little state (extension installed, env
built, logged in) in a folder, so a test can run the devcontainer scripts or the doctor's probes and
assert exactly what they called, without any real tool or network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

BIN = Path(__file__).parent / "bin"
STANDINS = ("az", "conda", "gh", "npm", "sudo")
# What the scripts need from the system besides the stand-ins.
SYSTEM_TOOLS = ("bash", "awk", "grep", "dirname", "touch", "cat", "git")

# Obviously fake values, distinct so a leak of any one of them is caught.
FAKE_SECRETS = {
    "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-00000000aaaa",
    "AZURE_RESOURCE_GROUP": "rg-fake-standin",
    "AZUREML_WORKSPACE_NAME": "ws-fake-standin",
    "AZURE_TENANT_ID": "00000000-0000-0000-0000-00000000bbbb",
    "AZURE_CLIENT_ID": "00000000-0000-0000-0000-00000000cccc",
    "AZURE_CLIENT_SECRET": "-fake~secret.value_0123456789abcdef",
}


@dataclass
class Standins:
    root: Path
    bin: Path
    log: Path
    state: Path
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        """A minimal environment: the stand-in PATH, a throwaway HOME, and `extra`."""
        return {
            "PATH": str(self.bin),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "STANDIN_LOG": str(self.log),
            "STANDIN_STATE": str(self.state),
            **extra,
        }

    def calls(self, tool: str | None = None) -> list[list[str]]:
        """Every recorded call as argv (tool name first), optionally only those of one tool."""
        if not self.log.exists():
            return []
        calls = [line.split("\t") for line in self.log.read_text().splitlines()]
        return [call for call in calls if tool is None or call[0] == tool]

    def set_state(self, name: str) -> None:
        (self.state / name).touch()

    def has_state(self, name: str) -> bool:
        return (self.state / name).exists()

    def run(self, argv: list[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=cwd, env=self.env(**extra), capture_output=True, text=True, timeout=60
        )


def make(tmp_path: Path, tools: tuple[str, ...] = STANDINS) -> Standins:
    """A bin folder with the chosen stand-ins and the system tools the scripts use, nothing else."""
    standins = Standins(
        root=tmp_path,
        bin=tmp_path / "standin-bin",
        log=tmp_path / "calls.log",
        state=tmp_path / "standin-state",
        home=tmp_path / "home",
    )
    for folder in (standins.bin, standins.state, standins.home):
        folder.mkdir(parents=True, exist_ok=True)
    for tool in (*tools, "_record.sh"):
        (standins.bin / tool).symlink_to(BIN / tool)
    for tool in SYSTEM_TOOLS:
        found = shutil.which(tool)
        if found is None:
            raise RuntimeError(f"{tool} is needed to run the stand-in tests; install it")
        os.symlink(found, standins.bin / tool)
    return standins
