"""MLflow edge: the tracking store, what a training run logs, and the model registry."""

from __future__ import annotations

import importlib.metadata
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MODEL_ARTIFACT_PATH = "model"

# The logged model needs only these to load and predict; exact versions make it reproducible.
MODEL_REQUIREMENTS = ("mlflow", "scikit-learn", "numpy", "pandas", "scipy", "skops")
# MLflow saves scikit-learn models with skops, which loads only types it is told to trust. These are
# the ones a HistGradientBoosting pipeline holds; we write the file ourselves, so we trust them.
SKOPS_TRUSTED_TYPES = [
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
]


@dataclass(frozen=True)
class LoggedRun:
    run_id: str
    experiment_id: str
    model_uri: str
    registered_version: str | None


def pinned_requirements(distributions: tuple[str, ...] = MODEL_REQUIREMENTS) -> list[str]:
    return [f"{name}=={importlib.metadata.version(name)}" for name in distributions]


def use_store(tracking_uri: str, experiment_name: str) -> str:
    """Point MLflow at the store and make sure the experiment exists; returns its id.

    For the project's own SQLite store the artifacts sit beside the database, so the whole store
    is one folder that `invoke ui` can serve and a user can delete.
    """
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    experiment = mlflow.get_experiment_by_name(experiment_name)
    if experiment is not None:
        return experiment.experiment_id
    artifact_location = None
    database = _sqlite_path(tracking_uri)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
        artifact_location = (database.parent / "artifacts").resolve().as_uri()
    return mlflow.create_experiment(experiment_name, artifact_location=artifact_location)


def log_training_run(
    *,
    experiment_id: str,
    run_id: str | None = None,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    tags: Mapping[str, str],
    pipeline: Any,
    input_example: Any,
    predictions: Any,
    figure_png: Path,
    registered_model_name: str | None,
) -> LoggedRun:
    """Log one finished training; register the model only once everything else is logged.

    `run_id` logs into a run that exists already (a sweep trial) instead of starting one.
    """
    import mlflow
    from mlflow.models import infer_signature

    with mlflow.start_run(run_id=run_id, experiment_id=experiment_id) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)
        mlflow.log_artifact(str(figure_png))
        # Saved, then logged as run artifacts, rather than mlflow.sklearn.log_model: log_model goes
        # through MLflow 3's logged-models API, which Azure ML's MLflow server does not implement
        # (it answers 404), while run artifacts and `runs:/` registration work there and here alike.
        with tempfile.TemporaryDirectory() as folder:
            mlflow.sklearn.save_model(
                pipeline,
                Path(folder, MODEL_ARTIFACT_PATH),
                signature=infer_signature(input_example, predictions),
                input_example=input_example.head(5),
                pip_requirements=pinned_requirements(),
                skops_trusted_types=SKOPS_TRUSTED_TYPES,
            )
            mlflow.log_artifacts(str(Path(folder, MODEL_ARTIFACT_PATH)), MODEL_ARTIFACT_PATH)
    model_uri = f"runs:/{run.info.run_id}/{MODEL_ARTIFACT_PATH}"
    # Leaving the block marks the run FINISHED; a failure above marks it FAILED and never registers.
    version = None
    if registered_model_name:
        registered = mlflow.register_model(model_uri, registered_model_name, tags=dict(tags))
        version = str(registered.version)
    return LoggedRun(run.info.run_id, experiment_id, model_uri, version)


def ui_url(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    if urlsplit(tracking_uri).scheme in {"http", "https"}:
        base = tracking_uri.rstrip("/")
    else:
        base = "http://localhost:5000"
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}"


def ui_command(
    python: str, tracking_uri: str, host: str, port: int, environ: Mapping[str, str]
) -> list[str]:
    """`invoke ui`: MLflow's own UI on the store, bound to `host`."""
    command = [python, "-m", "mlflow", "ui", "--backend-store-uri", tracking_uri]
    command += ["--host", host, "--port", str(port)]
    # MLflow refuses Host headers other than localhost unless told (DNS-rebinding protection); a
    # codespace's browser tab reaches it as <codespace>-<port>.<forwarding domain>.
    name = environ.get("CODESPACE_NAME")
    domain = environ.get("GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN")
    if name and domain:
        forwarded = f"{name}-{port}.{domain}"
        command += ["--allowed-hosts", f"localhost,localhost:{port},127.0.0.1:{port},{forwarded}"]
        command += ["--cors-allowed-origins", f"https://{forwarded},http://localhost:{port}"]
    return command


def _sqlite_path(tracking_uri: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(tracking_uri[len(prefix) :]) if tracking_uri.startswith(prefix) else None
