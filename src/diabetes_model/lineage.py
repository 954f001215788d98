"""Where a model came from: the data it saw and the code that trained it."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from diabetes_model.dataset import file_sha256


@dataclass(frozen=True)
class Lineage:
    data_sha256: str
    data_rows: int
    git_commit: str
    git_dirty: bool | None  # None when the code is not in a git checkout (e.g. a job snapshot)

    def as_tags(self) -> dict[str, str]:
        return {
            "data.sha256": self.data_sha256,
            "data.rows": str(self.data_rows),
            "git.commit": self.git_commit,
            "git.dirty": "unknown" if self.git_dirty is None else str(self.git_dirty).lower(),
        }


def collect_lineage(data_path: Path, rows: int, cwd: Path | None = None) -> Lineage:
    commit = _git(["rev-parse", "HEAD"], cwd)
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd) if commit else None
    return Lineage(
        data_sha256=file_sha256(data_path),
        data_rows=rows,
        git_commit=commit or "unknown",
        git_dirty=None if status is None else bool(status),
    )


def _git(args: list[str], cwd: Path | None) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()
