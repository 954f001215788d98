"""`invoke train`: fit, evaluate, log to MLflow and register, from a typed `TrainingConfig`.

Notebooks, the local sweep and pipeline steps call `train_and_log(config, tracking_uri)`.
`python -m diabetes_model.train --data FILE ...` is the command an Azure ML job runs (and local
`invoke train` runs the same command): it parses argv into the same config. MLflow decides where
the run goes (MLFLOW_TRACKING_URI; Azure ML sets it in a job).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diabetes_model.errors import UserError
from diabetes_model.settings import Settings

if TYPE_CHECKING:
    from diabetes_model.project import Project

DEFAULTS = Settings()
# The module a job spec's command runs: `python -m diabetes_model.train`.
COMMAND = ("python", "-m", "diabetes_model.train")


@dataclass(frozen=True)
class TrainingConfig:
    """Everything one training run needs besides the tracking store."""

    data: Path
    target: str = DEFAULTS.target
    experiment: str = DEFAULTS.experiment_name
    model_name: str = DEFAULTS.model_name
    test_size: float = DEFAULTS.test_size
    random_state: int = DEFAULTS.random_state
    # Only the values to change; the rest are core.model.DEFAULT_HYPERPARAMETERS.
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    register: bool = True

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        hyperparameters: Mapping[str, Any] | None = None,
        register: bool = True,
    ) -> TrainingConfig:
        """The run `invoke train` makes with these settings (their data, target, split, names)."""
        return cls(
            data=Path(settings.data_path),
            target=settings.target,
            experiment=settings.experiment_name,
            model_name=settings.model_name,
            test_size=settings.test_size,
            random_state=settings.random_state,
            hyperparameters=dict(hyperparameters or {}),
            register=register,
        )

    @classmethod
    def from_argv(cls, argv: list[str]) -> TrainingConfig:
        """The config of `python -m diabetes_model.train ARGS`; a bad flag is a FlagError."""
        from diabetes_model.core.model import parse_param_pairs

        args = _parser().parse_args(argv)
        named = {
            "learning_rate": args.learning_rate,
            "max_iter": args.max_iter,
            "max_depth": args.max_depth,
        }
        return cls(
            data=args.data,
            target=args.target,
            experiment=args.experiment,
            model_name=args.model_name,
            test_size=args.test_size,
            random_state=args.random_state,
            hyperparameters={
                **parse_param_pairs(args.param),
                **{name: value for name, value in named.items() if value is not None},
            },
            register=not args.no_register,
        )


class FlagError(UserError):
    """A flag argparse refused; the entry point exits 2 for it, as argparse itself would."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not a usage dump; callers in-process get an error
        raise FlagError(f"{message} (see --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m diabetes_model.train", description=__doc__)
    add = parser.add_argument
    add("--data", required=True, type=Path, help="training CSV")
    add("--target", default=DEFAULTS.target, help="target column")
    add("--experiment", default=DEFAULTS.experiment_name, help="MLflow experiment")
    add("--model-name", default=DEFAULTS.model_name, help="registered model name")
    add("--no-register", action="store_true", help="log the model but do not register it")
    add("--test-size", type=float, default=DEFAULTS.test_size, help="test fraction")
    add("--random-state", type=int, default=DEFAULTS.random_state, help="seed")
    add("--learning-rate", type=float, help="boosting learning rate")
    add("--max-iter", type=int, help="number of boosting iterations")
    add("--max-depth", type=int, help="maximum depth of each tree")
    add(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other HistGradientBoostingRegressor parameter (repeatable)",
    )
    return parser


@dataclass(frozen=True)
class TrainedRun:
    """One finished training: where it was logged, what it registered, how it scored."""

    run_id: str
    experiment_id: str
    model_uri: str
    registered_version: str | None
    metrics: dict[str, float]
    tracking_uri: str


def train_and_log(
    config: TrainingConfig, tracking_uri: str, run_id: str | None = None
) -> TrainedRun:
    """Fit, evaluate, log and (if config.register) register: the work of one training run.

    `run_id` continues a run created elsewhere (a sweep trial's child run) instead of a new one.
    """
    from diabetes_model import tracking
    from diabetes_model.core.fitting import fit_and_evaluate
    from diabetes_model.dataset import load_dataset
    from diabetes_model.lineage import collect_lineage
    from diabetes_model.plots import render_in_background

    frame = load_dataset(config.data, config.target)
    result = fit_and_evaluate(
        frame, config.target, config.hyperparameters, config.test_size, config.random_state
    )
    lineage = collect_lineage(config.data, len(frame))
    with tempfile.TemporaryDirectory() as folder:
        # Drawn by a second process while this one loads MLflow: see render_in_background.
        figure_png = Path(folder, "diagnostics.png")
        title = f"{config.model_name} (test set)"
        drawing = render_in_background(result.y_test, result.test_predictions, title, figure_png)
        try:
            experiment_id = tracking.use_store(tracking_uri, config.experiment)
        except BaseException:
            drawing.kill()
            drawing.wait()
            raise
        if drawing.wait() != 0:
            raise RuntimeError("drawing the diagnostics figure failed; its error is above")
        logged = tracking.log_training_run(
            experiment_id=experiment_id,
            run_id=run_id,
            params={
                **result.hyperparameters,
                "test_size": config.test_size,
                "random_state": config.random_state,
                "target": config.target,
            },
            metrics=result.metrics,
            tags=lineage.as_tags(),
            pipeline=result.pipeline,
            input_example=result.x_train,
            predictions=result.train_predictions,
            figure_png=figure_png,
            registered_model_name=config.model_name if config.register else None,
        )
    return TrainedRun(
        run_id=logged.run_id,
        experiment_id=experiment_id,
        model_uri=logged.model_uri,
        registered_version=logged.registered_version,
        metrics=result.metrics,
        tracking_uri=tracking_uri,
    )


def check_command(argv: list[str], spec: str) -> None:
    """In-process training runs this module: a spec whose command runs something else is refused."""
    if tuple(argv[:3]) != COMMAND:
        raise UserError(
            f"{spec}'s command no longer starts with `{' '.join(COMMAND)}` "
            f"({' '.join(argv[:3])} ...); in-process training runs that module, fix the spec"
        )


def spec_command(
    project: Project,
    overrides: Mapping[str, Any],
    extra_args: tuple[str, ...] = (),
    python: str = "python",
) -> list[str]:
    """What `invoke train` runs: azureml/train.yml's command with local values (the data input
    is the local file), so a local run and an Azure ML job run one command line."""
    from diabetes_model import job_specs

    inputs = {**job_specs.project_inputs(project.settings), **overrides}
    data = Path(project.shown(project.data_path))
    return job_specs.local_command(project.specs.train, data, inputs, extra_args, python=python)


def spec_config(
    project: Project, hyperparameters: Mapping[str, Any], register: bool = True
) -> TrainingConfig:
    """The config `invoke train` trains with for these hyperparameters: the spec's inputs take
    the ones it declares, `--param NAME=VALUE` the others (what the notebooks train with)."""
    from diabetes_model import job_specs

    declared = job_specs.job_inputs(job_specs.load_spec(project.specs.train))
    overrides = {k: v for k, v in hyperparameters.items() if k in declared}
    extra = [
        arg
        for name, value in hyperparameters.items()
        if name not in declared
        for arg in ("--param", f"{name}={value}")
    ]
    extra += [] if register else ["--no-register"]
    argv = spec_command(project, overrides, tuple(extra))
    check_command(argv, "azureml/train.yml")
    # The command's data path is relative to the project root.
    config = TrainingConfig.from_argv(argv[3:])
    return dataclasses.replace(config, data=project.root / config.data)


def report(config: TrainingConfig, trained: TrainedRun) -> str:
    """What the terminal shows after a run: the run, its metrics, the version, the UI link."""
    from diabetes_model.tracking import ui_url

    scores = "  ".join(f"{name} {value:.4g}" for name, value in sorted(trained.metrics.items()))
    lines = [f"run {trained.run_id} in experiment '{config.experiment}'", f"  {scores}"]
    if trained.registered_version:
        lines.append(f"registered model '{config.model_name}' version {trained.registered_version}")
    url = ui_url(trained.tracking_uri, trained.experiment_id, trained.run_id)
    lines.append(f"open it: invoke ui, then {url}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    # The settings' store: MLFLOW_TRACKING_URI (Azure ML sets it in a job), else the project's.
    tracking_uri = Settings.from_sources(environ=os.environ).tracking_uri_for(Path.cwd())
    try:
        config = TrainingConfig.from_argv(sys.argv[1:] if argv is None else argv)
        print(report(config, train_and_log(config, tracking_uri)))
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2 if isinstance(error, FlagError) else 1
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
