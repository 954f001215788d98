"""The local record of scored inputs: a rolling JSON-lines file that `invoke drift` reads back.

One line per scored row: `{"time", "request_id", "model", "inputs": {...}, "prediction"}`. When
the file passes `max_bytes` it becomes `<name>.1` (older ones shift up); at most `backups` old files
are kept. Several server workers may append at once, so appends and rollovers hold a file lock.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:  # POSIX only; where it is missing (Windows) a single worker needs no lock
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_BACKUPS = 5


class RollingJsonl:
    """Append-only JSON-lines file that rolls over by size."""

    def __init__(
        self, path: Path, max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS
    ) -> None:
        if max_bytes <= 0 or backups < 0:
            raise ValueError("max_bytes must be positive and backups not negative")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups

    def append(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Write the records as lines, rolling the file over first when it is full."""
        text = "".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records)
        if not text:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked():
            size = self.path.stat().st_size if self.path.exists() else 0
            if size and size + len(text.encode()) > self.max_bytes:
                self._roll_over()
            with self.path.open("a", encoding="utf-8") as file:
                file.write(text)

    def files(self) -> list[Path]:
        """The current file and its backups that exist, oldest first."""
        backups = [self.path.with_name(f"{self.path.name}.{n}") for n in range(self.backups, 0, -1)]
        return [path for path in [*backups, self.path] if path.exists()]

    def _roll_over(self) -> None:
        if self.backups == 0:
            self.path.unlink()
            return
        for n in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))

    @contextmanager
    def _locked(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            yield
            return
        lock = self.path.with_name(f"{self.path.name}.lock")
        with lock.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def read_records(log: RollingJsonl) -> Iterator[dict[str, Any]]:
    """Every record in the log, oldest first; a line that is not a JSON object in UTF-8 (a torn
    last line after a crash mid-write, say) is skipped."""
    for path in log.files():
        with path.open("rb") as file:
            for line in file:
                try:  # not UTF-8 or not JSON (a torn line, a stray write): not a record
                    record = json.loads(line.decode("utf-8"))
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record
