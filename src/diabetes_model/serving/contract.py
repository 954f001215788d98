"""The scoring request contract: parse a JSON body and check it against the model's input columns.

Pure: no I/O, no MLflow. Every way a request can be wrong ends in a `RequestError` that carries the
HTTP status and one sentence saying what is wrong and how to fix it. A request that passes becomes
a frame typed as the model's pipeline was trained on (`core.data.features_frame`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

# Accepted request shapes. `input_data` is what Azure ML's MLflow deployments take; the
# `dataframe_*` keys are MLflow's own, so one file works with `mlflow models serve` and this server.
SPLIT_KEYS = ("input_data", "dataframe_split")
RECORDS_KEYS = ("dataframe_records",)
REQUEST_KEYS = SPLIT_KEYS + RECORDS_KEYS
DEFAULT_MAX_ROWS = 1000
MAX_ERRORS_LISTED = 3
_TOO_DEEP = (
    "the request body is nested too deeply: send rows of plain values (numbers, strings, "
    "true/false or null)"
)

_NUMERIC = {"double", "float"}
_INTEGER = {"long", "integer"}
_PANDAS_DTYPE = {
    "double": "float64",
    "float": "float32",
    "long": "Int64",
    "integer": "Int32",
    "boolean": "object",
    "string": "object",
}


class RequestError(Exception):
    """A request the model cannot score; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Column:
    """One input column of the model signature: its name and MLflow type (double, long, ...)."""

    name: str
    dtype: str
    required: bool = True


def columns_from_signature(spec: Iterable[Mapping[str, Any]]) -> tuple[Column, ...]:
    """Columns from MLflow's JSON form of a column-based signature (`Schema.to_dict()`)."""
    columns = []
    for item in spec:
        name, dtype = item.get("name"), item.get("type")
        if not name or dtype not in _PANDAS_DTYPE:
            raise ValueError(
                f"unsupported model signature entry {dict(item)!r}: the scoring script needs named "
                f"columns of type {', '.join(sorted(_PANDAS_DTYPE))}"
            )
        columns.append(Column(name=name, dtype=dtype, required=bool(item.get("required", True))))
    if not columns:
        raise ValueError("the model signature has no input columns; log the model with a signature")
    return tuple(columns)


def parse_request(
    body: str | bytes, columns: Sequence[Column], max_rows: int = DEFAULT_MAX_ROWS
) -> pd.DataFrame:
    """The rows of a scoring request as a frame with exactly `columns`, in order, typed as declared.

    A JSON `null` is a missing value (the pipeline imputes it), unless the column is required and
    not numeric. Booleans and text stay Python objects, with NaN for a missing value, as in
    training: scikit-learn's encoder takes None for a category of its own, and pandas' own missing
    value (NA, what its boolean and string types hold) breaks its comparisons.
    """
    payload = _load_json(body)
    key, table = _the_table(payload)
    header, rows = _split(key, table) if key in SPLIT_KEYS else _records(table)
    if not rows:
        raise RequestError(400, "the batch is empty: send at least one row")
    if len(rows) > max_rows:
        raise RequestError(
            413, f"the batch has {len(rows)} rows, more than the limit of {max_rows}: split it"
        )
    _check_columns(header, columns)
    errors = list(_type_errors(header, rows, columns))
    if errors:
        more = (
            f" (and {len(errors) - MAX_ERRORS_LISTED} more)"
            if len(errors) > MAX_ERRORS_LISTED
            else ""
        )
        raise RequestError(422, "; ".join(errors[:MAX_ERRORS_LISTED]) + more)
    frame = pd.DataFrame(rows, columns=list(header))
    typed = frame[[c.name for c in columns]].astype(
        {c.name: _PANDAS_DTYPE[c.dtype] for c in columns}
    )
    for column in columns:
        if _PANDAS_DTYPE[column.dtype] == "object":
            values = typed[column.name]
            typed[column.name] = values.where(values.notna(), np.nan)
    return typed


def check_method(method: str) -> None:
    """Refuse anything but POST: scoring takes its rows from the body, never from a query string."""
    if method != "POST":
        raise RequestError(
            405, f"{method} is not allowed on /score: POST the rows as application/json"
        )


def check_content_type(content_type: str) -> None:
    """Refuse a body that is not declared as JSON (a form-encoded body never reaches `run()`)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        shown = f"'{content_type}'" if content_type else "none"
        raise RequestError(415, f"Content-Type is {shown}: send the body as application/json")


def example_request(frame: pd.DataFrame) -> dict[str, Any]:
    """The request body that scores `frame` (the `input_data` split form): Python values, a
    missing one (NaN, None, NA) as null, since JSON has no NaN."""
    values = frame.astype(object).where(frame.notna(), None)
    return {"input_data": {"columns": list(frame.columns), "data": values.to_numpy().tolist()}}


def _load_json(body: str | bytes) -> Any:
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise RequestError(400, "the request body is not UTF-8 text: send JSON") from None
    if not body.strip():
        raise RequestError(
            400, f"the request body is empty: send a JSON object with {_keys_hint()}"
        )
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except RequestError:
        raise
    except RecursionError:
        # json.loads recurses once per level of nesting, so a body like [[[[...]]]] thousands
        # deep exhausts Python's recursion limit; no request this model takes is deeper than 4.
        raise RequestError(400, _TOO_DEEP) from None
    except ValueError as error:
        raise RequestError(400, f"the request body is not valid JSON ({error})") from None


def _reject_constant(name: str) -> Any:
    raise RequestError(400, f"{name} is not a JSON value: send null for a missing value")


def _the_table(payload: Any) -> tuple[str, Any]:
    if not isinstance(payload, dict):
        raise RequestError(400, f"the request body must be a JSON object with {_keys_hint()}")
    keys = [key for key in REQUEST_KEYS if key in payload]
    if len(keys) != 1:
        found = ", ".join(sorted(payload)) or "no keys"
        raise RequestError(400, f"the request needs exactly one of {_keys_hint()}; it has {found}")
    return keys[0], payload[keys[0]]


def _keys_hint() -> str:
    return " or ".join(f"'{key}'" for key in REQUEST_KEYS)


def _split(key: str, table: Any) -> tuple[list[str], list[list[Any]]]:
    if isinstance(table, list) and all(isinstance(row, dict) for row in table):
        return _records(table)  # Azure ML also accepts records under input_data
    if not isinstance(table, dict) or "columns" not in table or "data" not in table:
        raise RequestError(
            400, f"'{key}' must be an object with 'columns' (names) and 'data' (a list of rows)"
        )
    header, rows = table["columns"], table["data"]
    if not isinstance(header, list) or not all(isinstance(name, str) for name in header):
        raise RequestError(400, f"'{key}.columns' must be a list of column names")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise RequestError(400, f"'{key}.data' must be a list of rows, each a list of values")
    for number, row in enumerate(rows):
        if len(row) != len(header):
            raise RequestError(
                400, f"row {number} has {len(row)} values but there are {len(header)} columns"
            )
    return header, rows


def _records(table: Any) -> tuple[list[str], list[list[Any]]]:
    if not isinstance(table, list) or not all(isinstance(row, dict) for row in table):
        raise RequestError(400, "records must be a list of objects, one per row")
    header: list[str] = []
    for row in table:
        header.extend(name for name in row if name not in header)
    for number, row in enumerate(table):
        absent = [name for name in header if name not in row]
        if absent:
            raise RequestError(
                400, f"row {number} lacks {', '.join(absent)}: give every row every column"
            )
    return header, [[row[name] for name in header] for row in table]


def _check_columns(header: Sequence[str], columns: Sequence[Column]) -> None:
    duplicated = sorted({name for name in header if list(header).count(name) > 1})
    if duplicated:
        raise RequestError(400, f"duplicate columns: {', '.join(duplicated)}")
    expected = [c.name for c in columns]
    missing = [name for name in expected if name not in header]
    unknown = [name for name in header if name not in expected]
    problems = []
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown columns: {', '.join(unknown)}")
    if problems:
        raise RequestError(422, f"{'; '.join(problems)}. The model expects: {', '.join(expected)}")


def _type_errors(
    header: Sequence[str], rows: Sequence[Sequence[Any]], columns: Sequence[Column]
) -> Iterable[str]:
    position = {name: index for index, name in enumerate(header)}
    for column in columns:
        index = position[column.name]
        for number, row in enumerate(rows):
            problem = _value_problem(row[index], column)
            if problem:
                yield f"column '{column.name}' row {number}: {problem}"


def _value_problem(value: Any, column: Column) -> str | None:
    if value is None:
        nullable = column.dtype in _NUMERIC or not column.required
        return None if nullable else f"a value is required ({column.dtype})"
    if column.dtype in _NUMERIC or column.dtype in _INTEGER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"expected a number ({column.dtype}), got {_describe(value)}"
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            return f"expected a finite number, got {_describe(value)}"
        if column.dtype in _INTEGER and not number.is_integer():
            return f"expected a whole number ({column.dtype}), got {value!r}"
        return None
    if column.dtype == "boolean":
        return (
            None if isinstance(value, bool) else f"expected true or false, got {_describe(value)}"
        )
    return None if isinstance(value, str) else f"expected a string, got {_describe(value)}"


def _describe(value: Any) -> str:
    kind = {str: "a string", bool: "a boolean", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )
    text = json.dumps(value)
    return f"{kind} {text if len(text) <= 20 else text[:17] + '...'}"
