"""The common example's way to train: mlflow.autolog() around a plain fit of the same pipeline.

The baseline that benchmarks/local_loop.py compares `invoke train` with; run as
`python benchmarks/autolog_baseline.py DATA.csv` with MLFLOW_TRACKING_URI set.
"""

import sys

import mlflow
import pandas as pd
from sklearn.model_selection import train_test_split

from diabetes_model.core.model import build_pipeline
from diabetes_model.core.schema import Feature, Schema


def main(data_path: str) -> None:
    mlflow.set_experiment("autolog-baseline")
    mlflow.autolog()
    frame = pd.read_csv(data_path)
    features, target = frame.drop(columns=["target"]).astype("float64"), frame["target"]
    x_train, x_test, y_train, y_test = train_test_split(features, target, random_state=42)
    schema = Schema("target", "regression", tuple(Feature(n, "numeric") for n in features.columns))
    with mlflow.start_run():
        pipeline = build_pipeline(schema, {}, random_state=42).fit(x_train, y_train)
        pipeline.score(x_test, y_test)


if __name__ == "__main__":
    main(sys.argv[1])
