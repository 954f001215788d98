"""The project's own MLflow store, SQLite in mlruns/: created whole or not at all, and checked
before use, so an interrupt cannot leave it half-built and a broken store is one line with its fix.

MLflow builds a new SQLite store by running its schema migrations one by one, and SQLite commits
each step as it goes: a Ctrl-C in the middle left stores that never opened again
(`_alembic_tmp_tags already exists`). Here the store is built in a temporary file beside the
database and hard-linked into place once it is complete.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sqlite3
import time
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote

from diabetes_model.errors import UserError

SQLITE = "sqlite:///"


@dataclass(frozen=True)
class StoreState:
    """missing, ok, outdated (an older MLflow's), newer (a newer MLflow's) or broken."""

    kind: str
    detail: str = ""

    def fix(self, db: Path) -> str:
        """What to do about it, in a few words."""
        return {
            "missing": "the first `invoke train` creates it",
            "ok": "",
            "outdated": f"back it up, then run: mlflow db upgrade sqlite:///{db}",
            "newer": f"use the MLflow that wrote it, or move it aside: mv {db.parent} {db.parent}.newer",
            "broken": f"move it aside and train again: mv {db.parent} {db.parent}.broken",
        }[self.kind]


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a `sqlite:///` tracking URI; None for any other store."""
    if not tracking_uri.startswith(SQLITE):
        return None
    return Path(unquote(tracking_uri[len(SQLITE) :]))


def store_state(db: Path) -> StoreState:
    """How the database file stands, read-only and without importing MLflow (about 10 ms)."""
    if not db.exists():
        return StoreState("missing")
    try:
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
            revisions = (
                [row[0] for row in connection.execute("SELECT version_num FROM alembic_version")]
                if "alembic_version" in tables
                else []
            )
        finally:
            connection.close()
    except sqlite3.Error as error:
        return StoreState("broken", f"not an SQLite database ({error})")
    leftovers = sorted(name for name in tables if name.startswith("_alembic_tmp_"))
    if leftovers:
        return StoreState("broken", f"half-migrated (leftover {', '.join(leftovers)})")
    if len(revisions) != 1:
        return StoreState("broken", "no MLflow schema version in it")
    head, known = schema_revisions()
    if revisions[0] == head:
        return StoreState("ok")
    if revisions[0] in known:
        return StoreState("outdated", f"schema {revisions[0]}, this MLflow wants {head}")
    return StoreState("newer", f"schema {revisions[0]}, unknown to this MLflow ({head})")


@cache
def schema_revisions() -> tuple[str, frozenset[str]]:
    """The installed MLflow's newest schema revision and all it knows, from its migration files."""
    spec = importlib.util.find_spec("mlflow")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("MLflow is not installed: pip install -e '.[dev]'")
    folder = Path(spec.submodule_search_locations[0]) / "store" / "db_migrations" / "versions"
    revisions, parents = set(), set()
    for script in folder.glob("*.py"):
        text = script.read_text(encoding="utf-8")
        found = re.search(r"^revision\s*=\s*['\"](\w+)['\"]", text, re.M)
        if found:
            revisions.add(found[1])
            down = re.search(r"^down_revision\s*=\s*(.+)$", text, re.M)
            parents.update(re.findall(r"['\"](\w+)['\"]", down[1]) if down else [])
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"MLflow's migrations have {len(heads)} heads; reinstall MLflow")
    return heads.pop(), frozenset(revisions)


def ensure_store(tracking_uri: str) -> None:
    """A local SQLite store ready to use: created if missing, refused in one line if broken,
    from another MLflow version, or somewhere it cannot be written. Other stores are MLflow's."""
    db = sqlite_path(tracking_uri)
    if db is None:
        return
    _writable_folder(db.parent)
    state = store_state(db)
    if state.kind == "missing":
        create_store(db)
    elif state.kind != "ok":
        raise UserError(f"the MLflow store {db} is {state.kind}: {state.detail}; {state.fix(db)}")


def create_store(db: Path) -> bool:
    """Build the store in a temporary file beside `db`, then link it into place; False when
    another process created it first."""
    import logging

    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    # "Creating initial MLflow database tables..." says nothing a user needs to act on.
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    _remove_stale_temporaries(db)
    temporary = db.with_name(f".{db.name}.{uuid.uuid4().hex}.creating")
    uri = f"{SQLITE}{temporary}"
    try:
        temporary.touch(exist_ok=False)  # the usual permissions (mkstemp's would be 0600)
        store = SqlAlchemyStore(uri, (db.parent / "artifacts").resolve().as_uri())
        store.engine.dispose()
        SqlAlchemyStore._engine_map.pop(uri, None)
        if store_state(temporary).kind != "ok":
            raise RuntimeError(f"the new MLflow store at {temporary} is incomplete")
        with temporary.open("rb+") as handle:
            os.fsync(handle.fileno())
        try:
            os.link(temporary, db)  # atomic, and never replaces a store made meanwhile
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links
            if db.exists():
                return False
            os.replace(temporary, db)
        return True
    finally:
        for path in (temporary, *(Path(f"{temporary}-{end}") for end in ("journal", "wal", "shm"))):
            path.unlink(missing_ok=True)


def _writable_folder(folder: Path) -> None:
    """Fail fast where the store cannot live (MLflow otherwise retries for minutes)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(
            f"cannot create the MLflow store folder {folder} ({error.strerror}); point "
            "MLFLOW_TRACKING_URI or project.tracking_uri at a writable place"
        ) from None
    if not os.access(folder, os.W_OK):
        raise UserError(
            f"the MLflow store folder {folder} is not writable; fix its permissions, or point "
            "MLFLOW_TRACKING_URI or project.tracking_uri elsewhere"
        )


def _remove_stale_temporaries(db: Path, older_than: float = 3600) -> None:
    """Temporary stores a killed run left behind; a young one may still be in use."""
    for path in db.parent.glob(f".{db.name}.*.creating*"):
        with contextlib.suppress(OSError):
            if time.time() - path.stat().st_mtime > older_than:
                path.unlink()
