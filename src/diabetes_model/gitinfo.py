"""What git says about the code: commit, branch, author, message, and uncommitted changes.

Every question answers with a placeholder outside a git checkout (an Azure ML job's snapshot has
no .git), never with an error: provenance is recorded, it is not a precondition.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

NO_COMMIT = "uncommitted"  # the code is not in a git checkout


def git(root: Path | None, *args: str) -> str | None:
    """The output of a git command in `root`, or None when git or the checkout is missing."""
    command = ["git", *(["-C", str(root)] if root else []), *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@dataclass(frozen=True)
class GitInfo:
    """The checkout's state, for run tags, job names and model version records."""

    commit: str
    branch: str
    author: str
    message: str
    dirty: bool | None  # None outside a git checkout

    @property
    def short(self) -> str:
        """Seven hex digits of a commit; the placeholder whole when there is no commit."""
        return self.commit if self.commit == NO_COMMIT else self.commit[:7]

    @property
    def dirty_text(self) -> str:
        return "unknown" if self.dirty is None else str(self.dirty).lower()


def git_info(root: Path | None = None) -> GitInfo:
    """Commit, branch, author and message of HEAD, and whether tracked files have changed."""
    commit = git(root, "rev-parse", "HEAD")
    if not commit:
        return GitInfo(NO_COMMIT, "unknown", "unknown", "", None)
    status = git(root, "status", "--porcelain", "--untracked-files=no")
    return GitInfo(
        commit=commit,
        branch=git(root, "rev-parse", "--abbrev-ref", "HEAD") or "unknown",
        author=git(root, "log", "-1", "--format=%an")
        or git(root, "config", "user.name")
        or "unknown",
        message=git(root, "log", "-1", "--format=%s") or "",
        dirty=None if status is None else bool(status),
    )
