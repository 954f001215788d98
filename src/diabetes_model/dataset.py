"""Getting the training CSV onto disk and reading it back, validated.

Every write goes to a temporary file beside the destination and is renamed only once it is complete,
verified and valid, so an interrupted or bad download never leaves a file behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

from diabetes_model.core.data import validate_frame
from diabetes_model.errors import UserError, first_line

if TYPE_CHECKING:
    from diabetes_model.project import Project

CHUNK_BYTES = 1 << 16


@dataclass(frozen=True)
class DatasetInfo:
    path: Path
    rows: int
    sha256: str
    fetched: bool  # False when a verified copy was already there


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_dataset(path: Path, target: str, features: Sequence[str] = ()) -> pd.DataFrame:
    """Read and validate a training CSV; every problem is a UserError naming the file."""
    if not path.is_file():
        raise UserError(f"data file {path} not found; run 'invoke data' first or pass --data")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise UserError(f"{path} is empty; point --data at a CSV with a header and rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise UserError(
            f"{path} is not a readable CSV ({first_line(error)}); fix or replace it"
        ) from None
    validate_frame(frame, target, features, source=str(path))
    return frame


def put_dataset(
    project: Project, source: str = "", sha256: str | None = None, timeout: float = 30.0
) -> DatasetInfo:
    """`invoke data`: the source (a URL or a file) at the project's data path, verified and
    validated; without a source, the bundled diabetes data."""
    settings = project.settings
    if source:
        return fetch_dataset(
            source, project.data_path, settings.target, settings.features, sha256, timeout
        )
    return write_bundled_dataset(project.data_path, settings.target)


def write_bundled_dataset(dest: Path, target: str) -> DatasetInfo:
    """scikit-learn's diabetes data (the same data as Azure ML's diabetes example), unscaled."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": target})
    with _staged(dest) as staged:
        frame.to_csv(staged, index=False)
        return _publish(staged, dest, target, (), expected_sha256=None)


def fetch_dataset(
    source: str,
    dest: Path,
    target: str,
    features: Sequence[str] = (),
    sha256: str | None = None,
    timeout: float = 30.0,
) -> DatasetInfo:
    """Copy or download a CSV to dest; skip it when dest already has the expected checksum."""
    sha256 = sha256.lower().strip() if sha256 else None
    is_url = urlsplit(source).scheme in {"http", "https"}
    if is_url and not sha256:
        raise UserError(
            f"downloading {redact(source)} needs --sha256 so the data is pinned; "
            "get it with 'sha256sum FILE' on a trusted copy"
        )
    if sha256 and dest.is_file() and file_sha256(dest) == sha256:
        frame = load_dataset(dest, target, features)
        return DatasetInfo(dest, len(frame), sha256, fetched=False)
    with _staged(dest) as staged:
        if is_url:
            _download(source, staged, timeout)
        else:
            _copy_local(Path(source), staged)
        return _publish(staged, dest, target, features, expected_sha256=sha256)


def redact(url: str) -> str:
    """The URL without its query string or credentials: SAS tokens and keys live there."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@contextmanager
def _staged(dest: Path):
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
    staged: Path, dest: Path, target: str, features: Sequence[str], expected_sha256: str | None
) -> DatasetInfo:
    actual = file_sha256(staged)
    if expected_sha256 and actual != expected_sha256:
        raise UserError(
            f"sha256 mismatch: expected {expected_sha256}, got {actual}; nothing was written. "
            "Check the source or the --sha256 value"
        )
    frame = load_dataset(staged, target, features)
    os.replace(staged, dest)
    return DatasetInfo(dest, len(frame), actual, fetched=True)


def _copy_local(source: Path, staged: Path) -> None:
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
