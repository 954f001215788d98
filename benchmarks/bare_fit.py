"""The baseline of benchmarks/big_tables.py: what any script does to train this model, and no more.

    python benchmarks/bare_fit.py TABLE.csv TARGET

Reads the CSV, splits it as training does, and fits the project's pipeline (core.model) for the
table's columns: numbers, and text columns as categories. No validation, metrics, figure, MLflow
or model file.
"""

from __future__ import annotations

import sys

import pandas as pd
from sklearn.model_selection import train_test_split

from diabetes_model.core.model import build_pipeline
from diabetes_model.core.schema import Feature, Schema


def main(path: str, target: str) -> None:
    frame = pd.read_csv(path)
    labels = frame.pop(target)
    classes = not pd.api.types.is_float_dtype(labels)
    features = tuple(
        Feature(name, "numeric" if pd.api.types.is_numeric_dtype(frame[name]) else "categorical")
        for name in frame.columns
    )
    schema = Schema(target, "classification" if classes else "regression", features)
    x_train, _, y_train, _ = train_test_split(
        frame, labels, test_size=0.2, random_state=42, stratify=labels if classes else None
    )
    build_pipeline(schema, {}, 42).fit(x_train, y_train)


if __name__ == "__main__":
    main(*sys.argv[1:3])
