"""Shared by the serving and deploy tests: small models (a registered regressor; classifiers saved
as `invoke train` saves them) and a live local server."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from example_tables import bundled, penguins

FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
MODEL_NAME = "diabetes-regressor"


def feature_frame(rows: int, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    """Diabetes-like standardised features; `shift` moves every feature's mean."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        rng.normal(loc=shift, scale=0.05, size=(rows, len(FEATURES))), columns=FEATURES
    )


def register_model(tracking_uri: str, name: str = MODEL_NAME, versions: int = 1) -> None:
    """Train the project's kind of pipeline on a few dozen rows; log and register it."""
    import mlflow
    import sklearn
    from mlflow.models import infer_signature
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline

    features = feature_frame(60)
    target = 150 + 900 * features["bmi"] + 400 * features["s5"]
    pipeline = Pipeline(
        [("impute", SimpleImputer()), ("model", HistGradientBoostingRegressor(max_iter=30))]
    ).fit(features, target)
    mlflow.set_tracking_uri(tracking_uri)
    for _ in range(versions):
        with mlflow.start_run():
            mlflow.sklearn.log_model(
                pipeline,
                name="model",
                signature=infer_signature(features, pipeline.predict(features)),
                input_example=features.head(3),
                registered_model_name=name,
                pip_requirements=[f"scikit-learn=={sklearn.__version__}"],  # skips inference
                skops_trusted_types=[
                    "numpy.dtype",
                    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
                ],
            )


@dataclass(frozen=True)
class Store:
    tracking_uri: str
    model_dir: Path


_STORE: dict[str, Store] = {}


def registered_store(root: Path) -> Store:
    """One store per test session: version 1 registered, and downloaded as a model directory."""
    if "store" not in _STORE:
        from diabetes_model.serving.serve import ModelRef, download_model

        tracking_uri = f"sqlite:///{(root / 'mlflow.db').as_posix()}"
        register_model(tracking_uri)
        model_dir = download_model(tracking_uri, ModelRef(MODEL_NAME, "1"), root / "models")
        _STORE["store"] = Store(tracking_uri, model_dir)
    return _STORE["store"]


@dataclass(frozen=True)
class Example:
    """A table a classifier is trained on, and the column it predicts."""

    table: Callable[[], pd.DataFrame]
    target: str

    def features(self, rows: int | None = None) -> pd.DataFrame:
        """Its feature rows typed as a client sends them (text, true/false, numbers, gaps)."""
        from diabetes_model.core.data import features_frame
        from diabetes_model.core.schema import infer_schema

        table = self.table()
        features = features_frame(table, infer_schema(table, self.target))
        return features if rows is None else features.head(rows)


CLASSIFIERS = {
    # true/false labels, numbers only
    "binary": Example(
        lambda: bundled("breast_cancer").assign(label=lambda f: f.label == 1), "label"
    ),
    # whole-number labels 0, 1, 2
    "multiclass": Example(lambda: bundled("wine"), "label"),
    # text labels; text categories, true/false and numbers, each with gaps
    "penguins": Example(penguins, "species"),
}
_CLASSIFIER_DIRS: dict[str, Path] = {}
# The penguins model's features, in order, and requests it must refuse with 422 naming the column:
# (columns, the one row, what the message says), in process and through the server alike.
PENGUIN_COLUMNS = ["island", "bill_mm", "mass_g", "male"]
WRONG_PENGUIN_ROWS = pytest.mark.parametrize(
    ("columns", "row", "says"),
    [
        (PENGUIN_COLUMNS, [7, 38.0, 3600.0, True], "column 'island' row 0: expected a string"),
        (PENGUIN_COLUMNS, ["Dream", 38.0, 3600.0, "no"], "column 'male' row 0: expected true"),
        ([*PENGUIN_COLUMNS, "beak"], ["Dream", 38.0, 3600.0, True, 1], "unknown columns: beak"),
    ],
    ids=["number for text", "text for a boolean", "unknown column"],
)


def classifier_dir(name: str, root: Path) -> Path:
    """One of CLASSIFIERS trained (small) and saved once per test session, under `root`."""
    if name not in _CLASSIFIER_DIRS:
        example = CLASSIFIERS[name]
        _CLASSIFIER_DIRS[name] = save_trained_model(example.table(), example.target, root / name)
    return _CLASSIFIER_DIRS[name]


def save_trained_model(table: pd.DataFrame, target: str, path: Path, max_iter: int = 30) -> Path:
    """The project's pipeline trained on `table` and saved as `invoke train` saves it: the schema's
    signature (`tracking.model_signature`), an input example and the skops types it trusts."""
    import mlflow

    from diabetes_model import tracking
    from diabetes_model.core.data import split_xy
    from diabetes_model.core.model import build_pipeline
    from diabetes_model.core.schema import infer_schema

    schema = infer_schema(table, target)
    features, labels = split_xy(table, schema)
    pipeline = build_pipeline(schema, {"max_iter": max_iter}, random_state=0)
    pipeline.fit(features, labels)
    mlflow.sklearn.save_model(
        pipeline,
        str(path),
        signature=tracking.model_signature(schema, features, pipeline.predict(features.head(5))),
        input_example=features.head(5),
        pip_requirements=tracking.pinned_requirements(),
        skops_trusted_types=tracking.SKOPS_TRUSTED_TYPES,
    )
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class RunningServer:
    url: str
    process: subprocess.Popen
    log: Path


# One readiness probe; a probe that times out is retried until the deadline, so a slow model load
# (seconds on a busy machine) delays the tests instead of failing them.
PROBE_TIMEOUT = 1.0


@contextlib.contextmanager
def running_server(
    argv: list[str], env: dict[str, str], port: int, log: Path, timeout: float = 120.0
) -> Iterator[RunningServer]:
    """Start a server, wait until it is ready, and always stop it (with its workers)."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(f"{base}/", process, log, timeout)
        yield RunningServer(base, process, log)
    finally:
        stop(process)


def wait_until_ready(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    """Poll the liveness route `url` until it answers 200 (azmlinfsrv answers it only once the
    worker has run init()), the server exits, or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(url, timeout=PROBE_TIMEOUT).status_code == 200:
                return
        except requests.RequestException:  # refused before the bind, timed out while loading
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not ready after {timeout:.0f} s:\n{log.read_text()}")
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the server's process group (gunicorn master and workers); SIGKILL if it lingers."""
    import signal

    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def python() -> str:
    return sys.executable
