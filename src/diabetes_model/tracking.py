"""MLflow edge: the tracking store, what a training run logs, and the model registry."""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MODEL_ARTIFACT_PATH = "model"
# The UI opens an experiment in its GenAI view unless the link asks for model training (MLflow
# 3.15 keeps the choice per browser; the experiment tag is for versions that read it).
UI_VIEW = "workflowType=machine_learning"
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}

# The logged model needs only these to load and predict; exact versions make it reproducible.
MODEL_REQUIREMENTS = ("mlflow", "scikit-learn", "numpy", "pandas", "scipy", "skops")
# MLflow saves scikit-learn models with skops, which loads only types it is told to trust. These are
# the ones our pipelines hold (the last two when the model has categorical features); we write the
# file ourselves, so we trust them.
SKOPS_TRUSTED_TYPES = [
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "functools.partial",
    "sklearn.utils.validation.check_array",
]


@dataclass(frozen=True)
class LoggedRun:
    run_id: str
    experiment_id: str
    model_uri: str
    registered_version: str | None


@dataclass(frozen=True)
class TrainingData:
    """The table a run trained on, for the run's Datasets panel: where it is and what it holds."""

    source: str  # a file path, or an azureml: data asset URI in a job
    name: str
    sha256: str
    rows: int
    columns: int


def pinned_requirements(distributions: tuple[str, ...] = MODEL_REQUIREMENTS) -> list[str]:
    return [f"{name}=={importlib.metadata.version(name)}" for name in distributions]


def use_store(tracking_uri: str, experiment_name: str) -> str:
    """Point MLflow at the store and make sure the experiment exists; returns its id.

    For the project's own SQLite store the artifacts sit beside the database, so the whole store
    is one folder that `invoke ui` can serve and a user can delete.
    """
    import mlflow

    from diabetes_model.interrupts import end_orphaned_runs
    from diabetes_model.tracking_store import ensure_store, sqlite_path

    ensure_store(tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    with store_errors(tracking_uri):
        experiment = mlflow.get_experiment_by_name(experiment_name)
        database = sqlite_path(tracking_uri)
        if experiment is not None:
            if database is not None:  # a local store: its runs were started on this machine
                end_orphaned_runs(tracking_uri, experiment.experiment_id)
            return experiment.experiment_id
        artifacts = (database.parent / "artifacts").resolve().as_uri() if database else None
        return mlflow.create_experiment(
            experiment_name, artifact_location=artifacts, tags=EXPERIMENT_KIND
        )


@contextlib.contextmanager
def store_errors(tracking_uri: str) -> Iterator[None]:
    """A store that cannot be read is one line naming it, not a traceback."""
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    from diabetes_model.errors import UserError, first_line

    try:
        yield
    except (MlflowException, SQLAlchemyError) as error:
        raise UserError(
            f"cannot use the MLflow store {tracking_uri}: {first_line(error)}; "
            "`invoke doctor` checks it"
        ) from None


def log_training_run(
    *,
    experiment_id: str,
    run_id: str | None = None,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    tags: Mapping[str, str],
    pipeline: Any,
    signature: Any,
    input_example: Any,
    figure: Callable[[], Path],
    data: TrainingData | None,
    registered_model_name: str | None,
    model_output: Path | None = None,
) -> LoggedRun:
    """Log one finished training; register the model last, once everything else is logged.

    An interrupt (Ctrl-C, SIGTERM) ends the run KILLED, any other failure FAILED; neither
    registers anything. `run_id` logs into a run that exists already (a sweep trial);
    `model_output` (a pipeline step's output folder) receives the MLflow model folder too.
    `figure` returns the diagnostics PNG once it is drawn: it is asked for after the model is
    saved, so the drawing overlaps the saving.
    """
    import mlflow

    from diabetes_model.interrupts import interruptible_run

    with interruptible_run(run_id=run_id, experiment_id=experiment_id) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)
        if data is not None:
            log_training_data(data, signature)
        _log_model(pipeline, signature, input_example, model_output)
        mlflow.log_artifact(str(figure()))
        model_uri = f"runs:/{run.info.run_id}/{MODEL_ARTIFACT_PATH}"
        version = None
        if registered_model_name:
            registered = mlflow.register_model(model_uri, registered_model_name, tags=dict(tags))
            version = str(registered.version)
    return LoggedRun(run.info.run_id, experiment_id, model_uri, version)


def _log_model(
    pipeline: Any, signature: Any, input_example: Any, model_output: Path | None
) -> None:
    """The pipeline as an MLflow model in the run's model/ artifacts (and in `model_output`).

    Saved, then logged as run artifacts, rather than mlflow.sklearn.log_model: log_model goes
    through MLflow 3's logged-models API, which Azure ML's MLflow server does not implement (it
    answers 404), while run artifacts and `runs:/` registration work there and here alike.
    """
    import mlflow

    with tempfile.TemporaryDirectory() as folder:
        saved = Path(folder, MODEL_ARTIFACT_PATH)
        mlflow.sklearn.save_model(
            pipeline,
            saved,
            signature=signature,
            input_example=input_example,
            pip_requirements=pinned_requirements(),
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
        mlflow.log_artifacts(str(saved), MODEL_ARTIFACT_PATH)
        if model_output is not None:
            shutil.copytree(saved, model_output, dirs_exist_ok=True)
            _record_run(model_output, mlflow.active_run().info.run_id)


def _record_run(model_folder: Path, run_id: str) -> None:
    """Name the run in the folder's MLmodel (`run_id`, as MLflow's log_model would), so a later
    pipeline step registers `runs:/<run_id>/model` from the folder alone."""
    from mlflow.models import Model

    model = Model.load(str(model_folder))
    model.run_id = run_id
    model.save(str(model_folder / "MLmodel"))


def log_training_data(data: TrainingData, signature: Any) -> None:
    """The table as the run's dataset input, described by its file hash, without reading it again
    (MLflow's own from_pandas would infer a schema over every row: 20 s on a million)."""
    import warnings

    import mlflow
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.exceptions import MlflowException

    class FileDataset(MetaDataset):
        @property
        def profile(self) -> dict[str, Any]:
            return {"num_rows": data.rows, "num_elements": data.rows * data.columns}

        def to_dict(self) -> dict[str, str]:
            return {**super().to_dict(), "profile": json.dumps(self.profile)}

    with warnings.catch_warnings():  # "can be interpreted in multiple ways": both mean a file
        warnings.simplefilter("ignore")
        source = resolve_dataset_source(data.source)
    dataset = FileDataset(
        source=source, name=data.name, digest=data.sha256[:16], schema=signature.inputs
    )
    try:
        mlflow.log_input(dataset, context="training")
    except MlflowException as error:  # a server without dataset inputs: the tags still say it
        warnings.warn(f"the training data was not logged as a dataset input: {error}", stacklevel=2)


def model_signature(schema: Any, example: Any, predictions: Any) -> Any:
    """The model's input columns as the schema types them (numbers double, booleans boolean,
    categories string; a missing value allowed in every column), and its output: numbers for
    regression, a label column for classification."""
    import warnings

    import pandas as pd
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types import ColSpec
    from mlflow.types import Schema as ColumnSchema

    types = {"numeric": "double", "boolean": "boolean", "categorical": "string"}
    inputs = ColumnSchema([ColSpec(types[f.kind], f.name, required=False) for f in schema.features])
    if schema.task == "classification":
        predictions = pd.Series(predictions, name="label")
    with warnings.catch_warnings():  # whole-number labels: the warning is about inputs with gaps
        warnings.simplefilter("ignore", UserWarning)
        outputs = infer_signature(example.head(len(predictions)), predictions).outputs
    return ModelSignature(inputs=inputs, outputs=outputs)


def ui_url(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    if urlsplit(tracking_uri).scheme in {"http", "https"}:
        base = tracking_uri.rstrip("/")
    else:
        base = "http://localhost:5000"
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}?{UI_VIEW}"


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
