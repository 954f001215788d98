"""Pure checks on a training table: what a CSV must look like before a model is fitted on it.

Missing feature values are allowed: the pipeline imputes them (median), so serving handles them the
same way. A missing target is rejected, since a row without a label cannot be learned from.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from diabetes_model.errors import UserError

MIN_ROWS = 10


def validate_frame(
    frame: pd.DataFrame, target: str, features: Sequence[str] = (), source: str = "the data"
) -> None:
    """Raise UserError naming the first problem that would make training fail or mislead."""
    if frame.empty or len(frame.columns) == 0:
        raise UserError(f"{source} has no rows; point --data at a CSV with a header and data rows")
    if target not in frame.columns:
        raise UserError(
            f"{source} has no target column '{target}' (columns: {', '.join(map(str, frame.columns))}); "
            "set project.target in invoke.yaml or pass --target"
        )
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise UserError(
            f"{source} lacks expected column(s) {', '.join(missing)}; "
            "fix the CSV or the project.features list in invoke.yaml"
        )
    if len(frame.columns) < 2:
        raise UserError(f"{source} has only the target column; add at least one feature column")
    for name in frame.columns:
        column = frame[name]
        if not pd.api.types.is_numeric_dtype(column):
            example = column.dropna().iloc[0] if column.notna().any() else ""
            raise UserError(
                f"column '{name}' in {source} is not numeric (e.g. {example!r}); "
                "encode it as numbers or drop it before training"
            )
        if column.isna().all():
            raise UserError(f"column '{name}' in {source} has no values; fill it or drop it")
    unlabeled = int(frame[target].isna().sum())
    if unlabeled:
        raise UserError(
            f"{unlabeled} row(s) in {source} have no '{target}' value; drop them or fill them in"
        )
    if len(frame) < MIN_ROWS:
        raise UserError(
            f"{source} has {len(frame)} rows; training needs at least {MIN_ROWS} to hold out a test set"
        )


def split_xy(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    """Features as float64 (one schema for training and serving) and the target."""
    features = frame.drop(columns=[target]).astype("float64")
    return features, frame[target].astype("float64")
