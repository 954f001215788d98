"""Pure checks on a training table and the frames a model is fitted on.

Missing feature values are allowed: the pipeline handles them (numbers: the median; categories: a
missing category), so serving treats them the same way. A missing target is refused, since a row
without a label cannot be learned from. Column-level rules are in `core.schema`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from diabetes_model.core.schema import Schema
from diabetes_model.errors import UserError

MIN_ROWS = 10


def validate_frame(
    frame: pd.DataFrame,
    target: str,
    source: str = "the data",
    header: Sequence[str] = (),
    min_rows: int = MIN_ROWS,
) -> None:
    """Raise UserError naming the first problem with the table as a whole.

    `header` is the file's own header, when the reader had to rename duplicated names;
    `min_rows` is 1 for a table whose test set was split off already (see `check_row_count`).
    """
    names = [str(name) for name in (header or frame.columns)]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise UserError(
            f"{source} has duplicate column names ({', '.join(duplicated)}); rename them so "
            "each column has its own name"
        )
    if len(frame.columns) == 0:
        raise UserError(f"{source} has no columns; it needs a header row and data rows")
    if frame.empty:
        raise UserError(f"{source} has a header but no rows; add data rows")
    if len(names) == 1 and (separator := next((c for c in ";\t|" if c in names[0]), None)):
        shown = {"\t": "tabs"}.get(separator, f"'{separator}'")
        raise UserError(
            f"{source} reads as one column: its values are separated by {shown}, not commas; "
            "save it as a comma-separated CSV (decimal points, not commas), or as Parquet"
        )
    if target not in frame.columns:
        raise UserError(
            f"{source} has no target column '{target}' (columns: {', '.join(names)}); "
            "set project.target in invoke.yaml to the column to predict"
        )
    if len(frame.columns) < 2:
        raise UserError(f"{source} has only the target column; add at least one feature column")
    labels = frame[target]
    if pd.api.types.is_float_dtype(labels) and np.isinf(labels).any():
        row = int(np.flatnonzero(np.isinf(labels.to_numpy()))[0])
        raise UserError(
            f"target '{target}' in {source} has an infinite value ({labels.iloc[row]} in data row "
            f"{row + 1}); fix or drop that row"
        )
    unlabeled = int(labels.isna().sum())
    if unlabeled:
        raise UserError(
            f"{unlabeled} row(s) in {source} have no '{target}' value; drop them or fill them in"
        )
    check_row_count(len(frame), source, min_rows)


def check_row_count(rows: int, source: str, min_rows: int = MIN_ROWS) -> None:
    if rows < min_rows:
        raise UserError(
            f"{source} has {rows} rows; training needs at least {min_rows} to hold out a test set"
        )


def features_frame(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The features of `schema`, in its order, typed as the model and its signature take them:
    numbers as float64, booleans and categories as Python objects with NaN for a missing value."""
    columns = {}
    for feature in schema.features:
        column = frame[feature.name]
        if feature.kind == "numeric":
            columns[feature.name] = pd.to_numeric(column, errors="coerce").astype(
                "float64", copy=False
            )
        elif feature.kind == "boolean":
            columns[feature.name] = _each_distinct(column, _as_boolean)
        else:
            columns[feature.name] = _each_distinct(column, str)
    return pd.DataFrame(columns, index=frame.index)


def _each_distinct(column: pd.Series, convert: Callable[[object], object]) -> pd.Series:
    """`convert` applied to each value, NaN for a missing one, as Python objects. A column of a
    million rows holds a few hundred distinct values: converting those and indexing with the
    codes is about a hundred times faster than a call per row."""
    codes, distinct = pd.factorize(column, use_na_sentinel=True)
    converted = np.array([*map(convert, distinct), np.nan], dtype=object)
    return pd.Series(converted[codes], index=column.index, dtype=object)  # code -1: the NaN


def target_series(frame: pd.DataFrame, schema: Schema) -> pd.Series:
    """The target: numbers for regression, the labels as they are for classification."""
    target = frame[schema.target]
    return target.astype("float64") if schema.task == "regression" else target


def split_xy(frame: pd.DataFrame, schema: Schema) -> tuple[pd.DataFrame, pd.Series]:
    return features_frame(frame, schema), target_series(frame, schema)


def _as_boolean(value: object) -> object:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    return str(value).strip().lower() == "true"
