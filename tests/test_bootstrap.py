"""scripts/bootstrap.sh, run with a stand-in Python that records what it is asked to install."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Records its argv; `-m venv DIR` makes DIR/bin/python (this same stand-in) and DIR/bin/invoke.
STANDIN_PYTHON = """#!/usr/bin/env bash
printf '%s\\n' "$0 $*" >>"$STANDIN_LOG"
if [[ ${1:-} == -m && ${2:-} == venv ]]; then
    mkdir -p "$3/bin"
    cp "$0" "$3/bin/python"
    printf '#!/usr/bin/env bash\\nprintf "%%s\\\\n" "invoke $*" >>"$STANDIN_LOG"\\n' >"$3/bin/invoke"
    chmod +x "$3/bin/python" "$3/bin/invoke"
fi
"""


@pytest.fixture
def bootstrap(tmp_path: Path):
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "bootstrap.sh", project / "scripts" / "bootstrap.sh")
    python = tmp_path / "python3"
    python.write_text(STANDIN_PYTHON)
    python.chmod(0o755)
    log = tmp_path / "calls.log"

    def run() -> tuple[subprocess.CompletedProcess[str], list[str]]:
        done = subprocess.run(
            ["bash", "scripts/bootstrap.sh"],
            cwd=project,
            env={"PATH": "/usr/bin:/bin", "PYTHON": str(python), "STANDIN_LOG": str(log)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        calls = log.read_text().splitlines() if log.exists() else []
        return done, [call.replace(str(project) + "/", "") for call in calls]

    return run


def test_bootstrap_installs_the_runtime_pins_and_the_development_tools(bootstrap):
    done, calls = bootstrap()

    assert done.returncode == 0, done.stderr
    # `.[dev]`: the project's dependencies (the runtime pins, identical to environment.yml's) and
    # the dev extra (the development tools), into .venv.
    install = ".venv/bin/python -m pip install --quiet --editable .[dev]"
    assert install in calls
    assert calls.index(install) < calls.index("invoke data train")
