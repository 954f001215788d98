"""Training entry point: `python -m diabetes_model.train --data FILE`, the same command locally and
in an Azure ML job. MLflow decides where the run goes (MLFLOW_TRACKING_URI; Azure ML sets it)."""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diabetes_model.errors import UserError
from diabetes_model.settings import Settings

DEFAULTS = Settings()


@dataclass(frozen=True)
class TrainingResult:
    pipeline: Any
    hyperparameters: dict[str, Any]
    metrics: dict[str, float]
    x_train: Any
    y_test: Any
    test_predictions: Any
    train_predictions: Any


def fit_and_evaluate(
    frame: Any, target: str, hyperparameters: dict[str, Any], test_size: float, random_state: int
) -> TrainingResult:
    """Split, fit and score, all in memory: nothing is logged unless this succeeds."""
    from sklearn.model_selection import train_test_split
    from sklearn.utils._param_validation import InvalidParameterError

    from diabetes_model.data import split_xy
    from diabetes_model.model import DEFAULT_HYPERPARAMETERS, build_pipeline, regression_metrics

    if not 0 < test_size < 1:
        raise UserError(f"--test-size must be between 0 and 1, got {test_size}")
    features, labels = split_xy(frame, target)
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=test_size, random_state=random_state
    )
    pipeline = build_pipeline(hyperparameters, random_state)
    try:
        with cyclic_gc_while_fitting():
            pipeline.fit(x_train, y_train)
    except InvalidParameterError as error:
        raise UserError(f"invalid hyperparameter: {error}; fix the flag or --param") from None
    train_predictions = pipeline.predict(x_train)
    test_predictions = pipeline.predict(x_test)
    metrics = {
        **regression_metrics(y_train.to_numpy(), train_predictions).as_dict("train"),
        **regression_metrics(y_test.to_numpy(), test_predictions).as_dict("test"),
    }
    return TrainingResult(
        pipeline=pipeline,
        hyperparameters={**DEFAULT_HYPERPARAMETERS, **hyperparameters},
        metrics=metrics,
        x_train=x_train,
        y_test=y_test.to_numpy(),
        test_predictions=test_predictions,
        train_predictions=train_predictions,
    )


@contextmanager
def cyclic_gc_while_fitting() -> Iterator[None]:
    """Collect reference cycles while the model fits, even where the entry point paused collection.

    The fit is the part a user may make long (a bigger model, more data), so it must not pile up
    garbage. Freezing first spares the collector the objects that exist already.
    """
    paused = not gc.isenabled()
    if paused:
        gc.freeze()
        gc.enable()
    try:
        yield
    finally:
        if paused:
            gc.disable()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not a usage dump
        self.exit(2, f"error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m diabetes_model.train", description=__doc__)
    parser.add_argument("--data", required=True, type=Path, help="training CSV")
    parser.add_argument("--target", default=DEFAULTS.target, help="target column")
    parser.add_argument("--experiment", default=DEFAULTS.experiment_name, help="MLflow experiment")
    parser.add_argument("--model-name", default=DEFAULTS.model_name, help="registered model name")
    parser.add_argument(
        "--no-register", action="store_true", help="log the model but do not register it"
    )
    parser.add_argument("--test-size", type=float, default=DEFAULTS.test_size, help="test fraction")
    parser.add_argument("--random-state", type=int, default=DEFAULTS.random_state, help="seed")
    parser.add_argument("--learning-rate", type=float, help="boosting learning rate")
    parser.add_argument("--max-iter", type=int, help="number of boosting iterations")
    parser.add_argument("--max-depth", type=int, help="maximum depth of each tree")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other HistGradientBoostingRegressor parameter (repeatable)",
    )
    return parser


def hyperparameters_from(args: argparse.Namespace) -> dict[str, Any]:
    from diabetes_model.model import parse_param_pairs

    named = {
        "learning_rate": args.learning_rate,
        "max_iter": args.max_iter,
        "max_depth": args.max_depth,
    }
    return {**parse_param_pairs(args.param), **{k: v for k, v in named.items() if v is not None}}


@dataclass(frozen=True)
class TrainedRun:
    """One finished training: where it was logged, what it registered, how it scored."""

    run_id: str
    experiment_id: str
    model_uri: str
    registered_version: str | None
    metrics: dict[str, float]
    tracking_uri: str


def train_and_log(args: argparse.Namespace, tracking_uri: str | None) -> TrainedRun:
    """Fit, evaluate, log and (unless --no-register) register: the work of one training run."""
    from diabetes_model import tracking
    from diabetes_model.dataset import load_dataset
    from diabetes_model.lineage import collect_lineage
    from diabetes_model.plots import render_in_background

    hyperparameters = hyperparameters_from(args)
    frame = load_dataset(args.data, args.target)
    result = fit_and_evaluate(
        frame, args.target, hyperparameters, args.test_size, args.random_state
    )
    lineage = collect_lineage(args.data, len(frame))
    if tracking_uri is None:
        tracking_uri = DEFAULTS.tracking_uri_for(Path.cwd())

    with tempfile.TemporaryDirectory() as folder:
        # Drawn by a second process while this one loads MLflow: see render_in_background.
        figure_png = Path(folder, "diagnostics.png")
        title = f"{args.model_name} (test set)"
        drawing = render_in_background(result.y_test, result.test_predictions, title, figure_png)
        try:
            experiment_id = tracking.use_store(tracking_uri, args.experiment)
        except BaseException:
            drawing.kill()
            drawing.wait()
            raise
        if drawing.wait() != 0:
            raise RuntimeError("drawing the diagnostics figure failed; its error is above")
        logged = tracking.log_training_run(
            experiment_id=experiment_id,
            params={
                **result.hyperparameters,
                "test_size": args.test_size,
                "random_state": args.random_state,
                "target": args.target,
            },
            metrics=result.metrics,
            tags=lineage.as_tags(),
            pipeline=result.pipeline,
            input_example=result.x_train,
            predictions=result.train_predictions,
            figure_png=figure_png,
            registered_model_name=None if args.no_register else args.model_name,
        )
    return TrainedRun(
        run_id=logged.run_id,
        experiment_id=experiment_id,
        model_uri=logged.model_uri,
        registered_version=logged.registered_version,
        metrics=result.metrics,
        tracking_uri=tracking_uri,
    )


def run(args: argparse.Namespace, tracking_uri: str | None) -> int:
    from diabetes_model.tracking import ui_url

    trained = train_and_log(args, tracking_uri)
    print(f"run {trained.run_id} in experiment '{args.experiment}'")
    scores = sorted(trained.metrics.items())
    print("  " + "  ".join(f"{name} {value:.4g}" for name, value in scores))
    if trained.registered_version:
        print(f"registered model '{args.model_name}' version {trained.registered_version}")
    url = ui_url(trained.tracking_uri, trained.experiment_id, trained.run_id)
    print(f"open it: invoke ui, then {url}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args, os.environ.get("MLFLOW_TRACKING_URI") or None)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    # Importing mlflow, scikit-learn and pandas creates millions of objects, and the cyclic garbage
    # collector walks them again and again while they load: about 1 s of each training. This
    # process is short-lived and what it allocates is freed by reference counting, so collection
    # is paused (except during the fit: see cyclic_gc_while_fitting) and everything is frozen
    # before exit, which spares the interpreter's final collections too. Exit handlers still run.
    gc.disable()
    code = main()
    gc.freeze()
    sys.exit(code)
