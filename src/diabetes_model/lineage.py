"""Where a model came from: the data it saw and the code that trained it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from diabetes_model.gitinfo import GitInfo, git_info
from diabetes_model.tables import file_sha256


@dataclass(frozen=True)
class Lineage:
    data_sha256: str
    data_rows: int
    git: GitInfo

    def as_tags(self) -> dict[str, str]:
        return {
            "data.sha256": self.data_sha256,
            "data.rows": str(self.data_rows),
            "git.commit": self.git.commit,
            "git.dirty": self.git.dirty_text,
        }


def collect_lineage(data_path: Path, rows: int, cwd: Path | None = None) -> Lineage:
    return Lineage(data_sha256=file_sha256(data_path), data_rows=rows, git=git_info(cwd))
