"""The typed configuration of one training run, from the settings or from the job's argv."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diabetes_model.core.columns import ALL_COLUMNS, NO_COLUMNS, decode_columns, decode_name
from diabetes_model.errors import UserError
from diabetes_model.settings import Settings

DEFAULTS = Settings()


@dataclass(frozen=True)
class TrainingConfig:
    """Everything one training run needs besides the tracking store."""

    data: Path
    target: str = DEFAULTS.target
    task: str = DEFAULTS.task
    features: tuple[str, ...] = DEFAULTS.features  # empty: every column but target and ignore
    ignore: tuple[str, ...] = DEFAULTS.ignore
    experiment: str = DEFAULTS.experiment_name
    model_name: str = DEFAULTS.model_name
    test_size: float = DEFAULTS.test_size
    random_state: int = DEFAULTS.random_state
    # Only the values to change; the rest are core.model.DEFAULT_HYPERPARAMETERS.
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    register: bool = True
    # Register even a model that does no better than a trivial baseline.
    register_anyway: bool = False
    # The test rows, when a pipeline's prep step has split the table already: `data` is then
    # the training rows, and nothing is split here.
    test_data: Path | None = None
    # Also write the MLflow model folder here (a pipeline step's output), besides logging it.
    model_output: Path | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        hyperparameters: Mapping[str, Any] | None = None,
        register: bool = True,
    ) -> TrainingConfig:
        """The run `invoke train` makes with these settings (their data, columns, split, names)."""
        return cls(
            data=Path(settings.data_path),
            target=settings.target,
            task=settings.task,
            features=settings.features,
            ignore=settings.ignore,
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
            task=args.task,
            features=decode_columns(args.features),
            ignore=decode_columns(args.ignore),
            experiment=args.experiment,
            model_name=args.model_name,
            test_size=args.test_size,
            random_state=args.random_state,
            hyperparameters={
                **parse_param_pairs(args.param),
                **{name: value for name, value in named.items() if value is not None},
            },
            register=not args.no_register,
            register_anyway=args.register_anyway,
            test_data=args.test_data,
            model_output=args.model_output,
        )


class FlagError(UserError):
    """A flag argparse refused; the entry point exits 2 for it, as argparse itself would."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not a usage dump; callers in-process get an error
        raise FlagError(f"{message} (see --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m diabetes_model.train",
        description="Train, log to MLflow and register: the command of an Azure ML job.",
    )
    add = parser.add_argument
    add("--data", required=True, type=Path, help="training table: CSV, or Parquet (.parquet)")
    # Names arrive percent-encoded (core.columns): a job's shell would split "Price (EUR)".
    named = {"type": decode_name}
    add("--target", default=DEFAULTS.target, **named, help="target column (percent-encoded)")
    add("--task", default=DEFAULTS.task, help="auto, regression or classification")
    columns = "comma-separated, each name percent-encoded (core.columns.encode_columns)"
    add("--features", default=ALL_COLUMNS, help=f"feature columns, {columns}; all: every column")
    add("--ignore", default=NO_COLUMNS, help=f"columns never to train on, {columns}")
    add("--experiment", default=DEFAULTS.experiment_name, **named, help="MLflow experiment")
    add("--model-name", default=DEFAULTS.model_name, **named, help="registered model name")
    add("--no-register", action="store_true", help="log the model but do not register it")
    add(
        "--register-anyway",
        action="store_true",
        help="register even a model no better than the trivial baseline",
    )
    add("--test-size", type=float, default=DEFAULTS.test_size, help="test fraction")
    add("--test-data", type=Path, help="test rows already split off (--data: the training rows)")
    add("--model-output", type=Path, help="also write the MLflow model folder here")
    add("--random-state", type=int, default=DEFAULTS.random_state, help="seed")
    add("--learning-rate", type=float, help="boosting learning rate")
    add("--max-iter", type=int, help="number of boosting iterations")
    add("--max-depth", type=int, help="maximum depth of each tree")
    add(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other HistGradientBoosting parameter (repeatable)",
    )
    return parser
