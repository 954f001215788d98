"""When `invoke pipeline` may reuse a step: its fingerprint (the resolved command, the bytes of
its input files and folders, the package's source) is the one recorded when its outputs were
written, and for a step that reads the registry (`is_deterministic: false`), the champion is
still the one the registry held when that run ended.

The champion is read without importing MLflow where the store is the project's SQLite file (an
all-reused run then takes a fraction of a second); `tests/test_pipeline_state.py` checks that
this read and MLflow's own agree.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from diabetes_model.steps.common import write_json

RECORD_FILE = "step.json"
NO_CHAMPION = "none"
SKIPPED = ("__pycache__", ".pyc", ".egg-info", ".ipynb_checkpoints")


@dataclass(frozen=True)
class StepRecord:
    """What a completed step leaves beside its outputs (outputs/pipeline/<step>/step.json)."""

    fingerprint: str
    seconds: float
    # The champion when the pipeline run that wrote the outputs ended (registry-reading steps).
    champion: str = NO_CHAMPION


def fingerprint(command: str, inputs: Iterable[Path], source: str) -> str:
    """The hash of what a step's outputs depend on: its command (with outputs unresolved), the
    contents of its input files and folders, and the package source's hash."""
    digest = hashlib.sha256()
    digest.update(command.encode())
    digest.update(source.encode())
    for path in inputs:
        digest.update(str(path).encode())
        digest.update(tree_hash(path).encode())
    return digest.hexdigest()


def tree_hash(path: Path) -> str:
    """The SHA-256 of a file, or of a folder's file names and contents (hidden files and caches
    left out: a half-written temporary file is not content)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        relative = file.relative_to(path) if file != path else Path(file.name)
        if any(part.startswith(".") for part in relative.parts) or any(
            marker in str(relative) for marker in SKIPPED
        ):
            continue
        digest.update(str(relative).encode())
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def read_record(folder: Path) -> StepRecord | None:
    try:
        return StepRecord(**json.loads((folder / RECORD_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def write_record(folder: Path, record: StepRecord) -> None:
    write_json(folder / RECORD_FILE, asdict(record))


def forget(folder: Path) -> None:
    """Before a step's outputs change: without its record nothing of it is reused."""
    (folder / RECORD_FILE).unlink(missing_ok=True)


def champion_token(tracking_uri: str, model_name: str) -> str:
    """The champion as `version:run_id`, or NO_CHAMPION: a cheap SQL read of the project's SQLite
    store when its schema is the installed MLflow's, else MLflow's client."""
    from diabetes_model.tracking_store import sqlite_path, store_state

    database = sqlite_path(tracking_uri)
    if database is not None:
        state = store_state(database).kind
        if state == "missing":
            return NO_CHAMPION
        if state == "ok":
            return _sqlite_champion(database, model_name)
    return _mlflow_champion(tracking_uri, model_name)


def _sqlite_champion(database: Path, model_name: str) -> str:
    from diabetes_model.champion import ALIAS

    query = (
        "SELECT a.version, v.run_id FROM registered_model_aliases a JOIN model_versions v "
        "ON v.workspace = a.workspace AND v.name = a.name AND v.version = a.version "
        "WHERE a.name = ? AND a.alias = ?"
    )
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = connection.execute(query, (model_name, ALIAS)).fetchall()
    finally:
        connection.close()
    return f"{rows[0][0]}:{rows[0][1]}" if len(rows) == 1 else NO_CHAMPION


def _mlflow_champion(tracking_uri: str, model_name: str) -> str:
    from mlflow import MlflowClient

    from diabetes_model.champion import find_champion, marks_with_tag

    found = find_champion(MlflowClient(tracking_uri), model_name, marks_with_tag(tracking_uri))
    return f"{found.version}:{found.run_id}" if found else NO_CHAMPION


def source_hash(package: Path) -> str:
    """The package's source: every file a step could import (caches left out)."""
    return tree_hash(package)
