"""`invoke data`: put the training table under data/, verified and validated, and say what it holds.

Without a source it takes project.data_source, or writes scikit-learn's bundled diabetes data when
that is empty. With `--source` it copies a file
or downloads a URL (pinned by `--sha256`), CSV or Parquet. With `--target` too, it is a new table:
it goes to data/<its file name>, and invoke.yaml's project settings are pointed at it.

Every write goes to a temporary file beside the destination and is renamed only once it is
complete, verified and valid, so an interrupted or bad download never leaves a file behind; a
temporary file left by a killed run is removed by the next one.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from diabetes_model.core.schema import Schema
from diabetes_model.errors import UserError
from diabetes_model.project import Project
from diabetes_model.tables import file_sha256, is_parquet, load_training_table

CHUNK_BYTES = 1 << 16
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class DatasetInfo:
    path: Path
    rows: int
    sha256: str
    fetched: bool  # False when a verified copy was already there
    schema: Schema


def put_dataset(
    project: Project,
    source: str = "",
    sha256: str = "",
    timeout: float = 30.0,
    target: str = "",
) -> DatasetInfo:
    """The source (a URL or a file), or the bundled data, at the project's data path; with
    `target`, a new table at data/<its name>, and the settings that point at it."""
    if target and not source:
        raise UserError("--target names the target of a new table: give the table with --source")
    settings = project.settings
    if not source and settings.data_source:  # a project made from the template with your data
        source, sha256 = settings.data_source, sha256 or settings.data_sha256
        if "://" not in source and not Path(source).is_absolute():
            source = str(project.root / source)
    checksum = _checked_sha256(sha256)
    dest = project.data_path
    if target:
        dest = project.root / "data" / _file_name(source)
    elif source and is_parquet(source) != is_parquet(dest):
        raise UserError(
            f"{_shown_source(source)} and project.data_path ({project.shown(dest)}) are not the "
            "same format; add --target COLUMN to bring it in as a new table"
        )
    if not source:
        return write_bundled_dataset(dest, settings.target)
    if target:  # a new table: every column is a candidate, as empty `features` says
        return fetch_dataset(source, dest, target, (), checksum, timeout)
    columns = {"ignore": settings.ignore, "task": settings.task}
    return fetch_dataset(
        source, dest, settings.target, settings.features, checksum, timeout, **columns
    )


def write_bundled_dataset(dest: Path, target: str) -> DatasetInfo:
    """scikit-learn's diabetes data (the same data as Azure ML's diabetes example), unscaled."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": target})
    with _cleaned_up(dest), _staged(dest) as staged:
        frame.to_csv(staged, index=False)
        return _publish(staged, dest, (target, (), (), "auto"), None, str(dest))


def fetch_dataset(
    source: str,
    dest: Path,
    target: str,
    features: Sequence[str] = (),
    sha256: str | None = None,
    timeout: float = 30.0,
    ignore: Sequence[str] = (),
    task: str = "auto",
) -> DatasetInfo:
    """Copy or download a table to dest; skip it when dest already has the expected checksum.
    It must be a table training takes, with these settings (features, ignore, task)."""
    sha256 = _checked_sha256(sha256 or "")
    columns = (target, tuple(features), tuple(ignore), task)
    if is_url(source) and not sha256:
        raise UserError(
            f"downloading {redact(source)} needs --sha256 so the data is pinned; "
            "get it with 'sha256sum FILE' on a trusted copy"
        )
    if sha256 and dest.is_file() and file_sha256(dest) == sha256:
        frame, schema = load_training_table(dest, *columns)
        return DatasetInfo(dest, len(frame), sha256, fetched=False, schema=schema)
    with _cleaned_up(dest), _staged(dest) as staged:
        if is_url(source):
            _download(source, staged, timeout)
        else:
            _copy_local(Path(source), staged)
        return _publish(staged, dest, columns, sha256, _shown_source(source))


def is_url(source: str) -> bool:
    """Whether a source is downloaded (http, https) rather than copied."""
    return urlsplit(source).scheme in {"http", "https"}


def redact(url: str) -> str:
    """The URL without its query string or credentials: SAS tokens and keys live there."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _checked_sha256(sha256: str) -> str | None:
    """Checked before anything is downloaded: 64 hex digits, or nothing."""
    value = sha256.strip().lower()
    if value and not SHA256.fullmatch(value):
        raise UserError(
            f"--sha256 {sha256!r} is not a SHA-256 (64 hex digits); copy it from 'sha256sum FILE'"
        )
    return value or None


def _file_name(source: str) -> str:
    path = urlsplit(source).path if is_url(source) else source
    name = Path(path).name
    if not name or not re.fullmatch(r"[\w.-]+", name):
        raise UserError(
            f"cannot name the new table after {_shown_source(source)}; give it a file name of "
            "letters, digits, '.', '_' and '-'"
        )
    return name


def _shown_source(source: str) -> str:
    return redact(source) if is_url(source) else source


@contextmanager
def _cleaned_up(dest: Path) -> Iterator[None]:
    """Temporary files of dest that a killed run left are removed first; a SIGTERM or SIGHUP
    while this one works ends it as Ctrl-C does, so its own temporary file goes too."""
    for leftover in dest.parent.glob(f".{dest.name}.*.part"):
        leftover.unlink(missing_ok=True)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    handled = (signal.SIGTERM, signal.SIGHUP)
    try:
        previous = [signal.signal(number, interrupt) for number in handled]
    except ValueError:  # not the main thread (a notebook's worker): leave the signals alone
        previous = []
    try:
        yield
    finally:
        for number, handler in zip(handled, previous, strict=False):
            signal.signal(number, handler)


@contextmanager
def _staged(dest: Path) -> Iterator[Path]:
    """A temporary path next to dest, removed unless it was renamed into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    staged = Path(name)
    try:
        yield staged
    finally:
        staged.unlink(missing_ok=True)


def _publish(
    staged: Path, dest: Path, columns: tuple, expected_sha256: str | None, shown: str
) -> DatasetInfo:
    """Rename the staged file into place once it matches the checksum and is a table training
    takes; `columns` is (target, features, ignore, task)."""
    actual = file_sha256(staged)
    if expected_sha256 and actual != expected_sha256:
        raise UserError(
            f"sha256 mismatch: expected {expected_sha256}, got {actual}; nothing was written. "
            "Check the source or the --sha256 value"
        )
    frame, schema = load_training_table(staged, *columns, shown=shown)
    os.replace(staged, dest)
    return DatasetInfo(dest, len(frame), actual, fetched=True, schema=schema)


def _copy_local(source: Path, staged: Path) -> None:
    if source.is_dir():
        raise UserError(f"--source {source} is a directory; give the CSV or Parquet file in it")
    if not source.is_file():
        raise UserError(f"source file {source} not found; check the --source path")
    shutil.copyfile(source, staged)


def _download(url: str, staged: Path, timeout: float) -> None:
    import requests
    from tqdm import tqdm

    shown = redact(url)
    try:
        with requests.get(url, stream=True, timeout=timeout) as response:
            if response.status_code != 200:
                raise UserError(
                    f"download of {shown} failed: HTTP {response.status_code} {response.reason}; "
                    "check the URL and that the file is published"
                )
            total = int(response.headers.get("Content-Length") or 0) or None
            with (
                staged.open("wb") as handle,
                tqdm(
                    total=total, unit="B", unit_scale=True, desc=Path(shown).name, disable=None
                ) as bar,
            ):
                for chunk in response.iter_content(CHUNK_BYTES):
                    handle.write(chunk)
                    bar.update(len(chunk))
    except requests.Timeout:
        raise UserError(
            f"download of {shown} timed out after {timeout:g}s; retry, or raise --timeout"
        ) from None
    except requests.RequestException as error:
        reason = type(error).__name__
        raise UserError(
            f"download of {shown} was interrupted ({reason}); nothing was written, run it again"
        ) from None


def adopt_table(project: Project, info: DatasetInfo, source: str) -> str:
    """Point invoke.yaml's project settings at a new table: where it came from, its path, target
    and features (the ones `invoke data` kept, in order), the task left to auto. Says what changed.

    The source is recorded so that a later `invoke data` without flags fetches this table again
    (a URL with its checksum) instead of writing the bundled demo data over it."""
    from diabetes_model.project import write_project_settings

    names = info.schema.names
    # Comma-separated text, as INVOKE_PROJECT_FEATURES can override it; a list if a name has a comma.
    features = names if any("," in name for name in names) else ", ".join(names)
    values = {
        "data_source": source if is_url(source) else project.shown(Path(source).resolve()),
        "data_sha256": info.sha256 if is_url(source) else "",
        "data_path": project.shown(info.path),
        "target": info.schema.target,
        "task": "auto",
        "features": features,
        "ignore": "",
    }
    write_project_settings(project.root / "invoke.yaml", values)
    return (
        f"invoke.yaml: project.data_path is {values['data_path']}, target {values['target']}, "
        f"task auto, and {len(names)} features; `invoke train` trains on it"
    )
