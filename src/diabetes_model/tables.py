"""Reading a training table from disk: CSV or Parquet, checked as a whole (`core.data`)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd

from diabetes_model.core.data import MIN_ROWS, validate_frame
from diabetes_model.core.schema import Schema
from diabetes_model.errors import UserError, first_line
from diabetes_model.settings import Settings

PARQUET_SUFFIXES = (".parquet", ".pq")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# Workbooks people export tables from: refused by name rather than read as broken CSV.
WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".ods", ".numbers"})


def is_parquet(path: Path | str) -> bool:
    return Path(path).suffix.lower() in PARQUET_SUFFIXES


def read_table(path: Path, shown: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The table and its header as the file has it (pandas renames duplicated names).

    `shown` names the file in errors, when `path` is a temporary copy of the user's file; its
    suffix then says the format too.
    """
    shown = shown or str(path)
    if path.is_dir():
        raise UserError(
            f"{shown} is a directory, not a data file; point at the CSV or Parquet file"
        )
    if not path.is_file():
        raise UserError(f"data file {shown} not found; run `invoke data` first, or fix the path")
    suffix = Path(urlsplit(shown).path).suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return _read_parquet(path, shown)
    if suffix in WORKBOOK_SUFFIXES:
        raise UserError(
            f"{shown} is a spreadsheet workbook, which training does not read; save the sheet "
            "as CSV UTF-8 (comma-separated) or as Parquet"
        )
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), [])
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise UserError(f"{shown} is empty; it needs a header row and data rows") from None
    except UnicodeDecodeError as error:
        raise UserError(
            f"{shown} is not UTF-8 text ({first_line(error)}); save it as UTF-8 "
            "(in Excel: CSV UTF-8)"
        ) from None
    except (pd.errors.ParserError, csv.Error) as error:
        raise UserError(
            f"{shown} is not a readable CSV ({first_line(error)}); fix or replace it"
        ) from None
    return frame, header


def _read_parquet(path: Path, shown: str) -> tuple[pd.DataFrame, list[str]]:
    import pyarrow.parquet as pq

    try:
        header = list(pq.read_schema(path).names)
        if len(set(header)) == len(header):
            return pd.read_parquet(path), header
    except Exception as error:  # pyarrow's errors have no common base but Exception
        raise UserError(
            f"{shown} is not a readable Parquet file ({first_line(error)}); fix or replace it"
        ) from None
    return pd.DataFrame(columns=range(len(header))), header  # validate_frame names the duplicates


def load_dataset(
    path: Path, target: str, shown: str | None = None, min_rows: int = MIN_ROWS
) -> pd.DataFrame:
    """Read a training table and check it as a whole; every problem is a UserError naming the
    file (`shown`, when `path` is a temporary copy)."""
    frame, header = read_table(path, shown)
    validate_frame(frame, target, source=shown or str(path), header=header, min_rows=min_rows)
    return frame


def load_training_table(
    path: Path,
    target: str,
    features: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
    task: str = "auto",
    shown: str | None = None,
    min_rows: int = MIN_ROWS,
):
    """The table and its schema (`core.schema`): what training, drift and serving read."""
    from diabetes_model.core.schema import infer_schema

    frame = load_dataset(path, target, shown, min_rows)
    schema = infer_schema(frame, target, features, ignore, task, source=shown or str(path))
    return frame, schema


def load_test_table(path: Path, schema: Schema) -> pd.DataFrame:
    """A test set for the model of `schema` (the pipeline's prep split it off): checked as a
    table, and for the schema's columns; the schema's task and column kinds are the training's,
    and a small test set need not hold every class twice, as a whole table must."""
    frame = load_dataset(path, schema.target, min_rows=1)
    missing = [name for name in schema.names if name not in frame.columns]
    if missing:
        raise UserError(
            f"{path} lacks the feature column(s) {', '.join(missing)} that the training table has; "
            "give it the same columns"
        )
    return frame


def load_features(settings: Settings):
    """The training table's feature columns, typed as the model takes them, and its schema:
    rows to score (`invoke predict`, the deploy smoke request) and drift's reference."""
    from diabetes_model.core.data import features_frame

    frame, schema = load_training_table(
        Path(settings.data_path), settings.target, settings.features, settings.ignore, settings.task
    )
    return features_frame(frame, schema), schema
