"""`invoke train`: fit, evaluate, log to MLflow and register, from a typed `TrainingConfig`.

Notebooks, the local sweep and pipeline steps call `train_and_log(config, tracking_uri)`.
`python -m diabetes_model.train --data FILE ...` is the command an Azure ML job runs (and local
`invoke train` runs the same command): it parses argv into the same config. MLflow decides where
the run goes (MLFLOW_TRACKING_URI; Azure ML sets it in a job).
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diabetes_model.core.schema import Schema
from diabetes_model.errors import UserError
from diabetes_model.settings import Settings
from diabetes_model.train_config import FlagError, TrainingConfig

__all__ = ["FlagError", "TrainedRun", "TrainingConfig", "main", "train_and_log"]


@dataclass(frozen=True)
class TrainedRun:
    """One finished training: where it was logged, what it registered, how it scored."""

    run_id: str
    experiment_id: str
    model_uri: str
    registered_version: str | None
    metrics: dict[str, float]
    tracking_uri: str
    schema: Schema
    # Why the model was not registered although registering was asked for; empty otherwise.
    not_registered: str = ""


def train_and_log(
    config: TrainingConfig, tracking_uri: str, run_id: str | None = None
) -> TrainedRun:
    """Fit, evaluate, log and (if config.register and the model beats the trivial baseline)
    register: the work of one training run.

    `run_id` continues a run created elsewhere (a sweep trial's child run) instead of a new one.
    """
    from diabetes_model import tracking
    from diabetes_model.lineage import collect_lineage

    result, schema, shape, sha256, experiment_id = _fitted(config, tracking_uri)
    lineage = collect_lineage(config.data, shape[0], sha256=sha256)
    refused = _baseline_refusal(schema, result) if not config.register_anyway else ""
    metrics = {**result.metrics, **_baseline_metric(schema, result.baseline)}
    with tempfile.TemporaryDirectory() as folder, _drawing(config, result, folder) as figure:
        logged = tracking.log_training_run(
            experiment_id=experiment_id,
            run_id=run_id,
            params=_params(config, schema, result.hyperparameters),
            metrics=metrics,
            tags={**lineage.as_tags(), "task": schema.task},
            pipeline=result.pipeline,
            signature=tracking.model_signature(
                schema, result.x_train, result.pipeline.predict(result.x_train.head(5))
            ),
            input_example=result.x_train.head(5),
            figure=figure,
            data=_training_data(config, shape, lineage.data_sha256),
            registered_model_name=config.model_name if config.register and not refused else None,
            model_output=config.model_output,
        )
    return TrainedRun(
        run_id=logged.run_id,
        experiment_id=experiment_id,
        model_uri=logged.model_uri,
        registered_version=logged.registered_version,
        metrics=metrics,
        tracking_uri=tracking_uri,
        schema=schema,
        not_registered=refused if config.register else "",
    )


def _fitted(
    config: TrainingConfig, tracking_uri: str
) -> tuple[Any, Schema, tuple[int, int], str, str]:
    """The fit's result, the table's schema, shape and SHA-256, and the experiment's id.

    The file is hashed while the table is read; the MLflow store (a second to open on SQLite) is
    opened while the model fits, once the table and the hyperparameters proved valid, so bad input
    touches no store. A store that cannot be used is reported after the fit.
    """
    from concurrent.futures import ThreadPoolExecutor

    from diabetes_model import tracking
    from diabetes_model.core.fitting import checked_pipeline, fit_and_evaluate
    from diabetes_model.tables import file_sha256

    with ThreadPoolExecutor(2) as background:
        sha256 = background.submit(file_sha256, Path(config.data))
        rows, schema, shape = _rows(config)
        pipeline = checked_pipeline(schema, config.hyperparameters, config.random_state)
        store = background.submit(tracking.use_store, tracking_uri, config.experiment)
        result = fit_and_evaluate(
            rows, schema, pipeline, config.hyperparameters, config.random_state
        )
        del rows  # the result keeps what it needs
        return result, schema, shape, sha256.result(), store.result()


def _rows(config: TrainingConfig) -> tuple[Any, Schema, tuple[int, int]]:
    """The rows to train and test on, the table's schema and its shape (rows, columns).

    The table itself is let go here, once split: only the typed rows stay while the model fits.
    With a test table of its own (the pipeline's prep split one table in two), the two together
    need the rows a split would.
    """
    from diabetes_model.core.data import MIN_ROWS, check_row_count
    from diabetes_model.core.fitting import training_rows
    from diabetes_model.tables import load_test_table, load_training_table

    held_out = config.test_data is not None
    frame, schema = load_training_table(
        config.data, config.target, config.features, config.ignore, config.task,
        min_rows=1 if held_out else MIN_ROWS,
    )  # fmt: skip
    shape = frame.shape
    test_frame = None
    if held_out:
        test_frame = load_test_table(config.test_data, schema)
        both = f"{config.data} with its test set {config.test_data}"
        check_row_count(len(frame) + len(test_frame), both)
    rows = training_rows(frame, schema, config.test_size, config.random_state, test_frame)
    return rows, schema, shape


def _training_data(config: TrainingConfig, shape: tuple[int, int], sha256: str) -> Any:
    """What the run's Datasets panel shows of the table it trained on."""
    from diabetes_model.tracking import TrainingData

    path = Path(config.data)
    return TrainingData(str(path.resolve()), path.stem, sha256, shape[0], shape[1])


@contextmanager
def _drawing(config: TrainingConfig, result: Any, folder: str) -> Iterator[Callable[[], Path]]:
    """Draw the diagnostics figure in a second process while the store opens and the model is
    saved (see plots.render_in_background); yields the wait for its PNG. A figure not waited for
    (the logging failed or was interrupted) is not drawn to the end."""
    from diabetes_model.plots import render_in_background

    proba, classes = (
        (result.test_proba, result.classes) if result.test_proba is not None else (None, ())
    )
    png = Path(folder, "diagnostics.png")
    title = f"{config.model_name} (test set)"
    drawing = render_in_background(
        png, title, result.y_test, result.test_predictions, proba, classes
    )

    def drawn() -> Path:
        if drawing.wait() != 0:
            raise RuntimeError("drawing the diagnostics figure failed; its error is above")
        return png

    try:
        yield drawn
    finally:
        if drawing.poll() is None:
            drawing.kill()
            drawing.wait()


def _params(config: TrainingConfig, schema: Schema, hyperparameters: Mapping[str, Any]) -> dict:
    return {
        **hyperparameters,
        "test_size": config.test_size,
        "random_state": config.random_state,
        "target": config.target,
        "task": schema.task,
        "features": ",".join(schema.names)[:6000],  # MLflow's limit for a parameter value
    }


def _baseline_metric(schema: Schema, baseline: float) -> dict[str, float]:
    from diabetes_model.core.metrics import PRIMARY

    return {f"test_baseline_{PRIMARY[schema.task][0]}": baseline}


def _baseline_refusal(schema: Schema, result: Any) -> str:
    """Why the model is not worth registering: it does not beat the mean (regression) or the
    class shares (classification) on the test rows; empty when it does."""
    from diabetes_model.core.metrics import PRIMARY, is_better

    metric = PRIMARY[schema.task][0]
    score = result.metrics[f"test_{metric}"]
    if is_better(schema.task, score, result.baseline):
        return ""
    trivial = (
        "predicting the mean" if schema.task == "regression" else "predicting the class shares"
    )
    return (
        f"test {metric} {score:.4g} is no better than {trivial} ({result.baseline:.4g}); improve "
        "the data or the model, or pass --register-anyway"
    )


def report(config: TrainingConfig, trained: TrainedRun) -> str:
    """What the terminal shows after a run: the schema, the run, its metrics, the version."""
    from diabetes_model.tracking import ui_url

    scores = "  ".join(f"{name} {value:.4g}" for name, value in sorted(trained.metrics.items()))
    lines = [
        *trained.schema.describe(),
        f"run {trained.run_id} in experiment '{config.experiment}'",
    ]
    lines.append(f"  {scores}")
    if trained.registered_version:
        lines.append(f"registered model '{config.model_name}' version {trained.registered_version}")
    url = ui_url(trained.tracking_uri, trained.experiment_id, trained.run_id)
    lines.append(f"open it: invoke ui, then {url}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from diabetes_model.interrupts import sigterm_as_interrupt

    sigterm_as_interrupt()  # a job's cancellation ends the run as Ctrl-C does
    # The settings' store: MLFLOW_TRACKING_URI (Azure ML sets it in a job), else the project's.
    tracking_uri = Settings.from_sources(environ=os.environ).tracking_uri_for(Path.cwd())
    try:
        config = TrainingConfig.from_argv(sys.argv[1:] if argv is None else argv)
        trained = train_and_log(config, tracking_uri)
        print(report(config, trained))
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2 if isinstance(error, FlagError) else 1
    except KeyboardInterrupt:
        print(
            "interrupted: nothing was registered; the run, if it began, is marked KILLED",
            file=sys.stderr,
        )
        return 130
    if trained.not_registered:
        print(f"error: not registered: {trained.not_registered}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    # Importing mlflow, scikit-learn and pandas creates millions of objects, and the cyclic garbage
    # collector walks them again and again while they load: about 1 s of each training. This
    # process is short-lived and what it allocates is freed by reference counting, so collection
    # is paused (except during the fit: see core.fitting.cyclic_gc_while_fitting) and everything
    # is frozen before exit, which spares the interpreter's final collections too. Exit handlers
    # still run.
    gc.disable()
    code = main()
    gc.freeze()
    sys.exit(code)
