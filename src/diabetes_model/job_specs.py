"""The Azure ML job specs (azureml/*.yml) as plain data: the one place the training command is
written down. Local runs resolve a spec's command with local values; remote runs submit it."""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diabetes_model.core.columns import ALL_COLUMNS, NO_COLUMNS, encode_columns, encode_name
from diabetes_model.errors import UserError
from diabetes_model.project import Project
from diabetes_model.settings import Settings

if TYPE_CHECKING:
    from diabetes_model.train import TrainingConfig

# The module a job spec's command runs, which in-process training (notebooks, sweeps) runs too.
TRAINING_COMMAND = ("python", "-m", "diabetes_model.train")
PLACEHOLDER = re.compile(r"\$\{\{\s*(?P<scope>inputs|search_space)\.(?P<name>\w+)\s*\}\}")


def load_spec(path: Path) -> dict[str, Any]:
    """A spec file as a dict; it must exist, parse and name its JSON schema."""
    import yaml

    if not path.is_file():
        raise UserError(f"Azure ML spec {path} not found; restore it from git")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" (line {where.line + 1})" if where else ""
        raise UserError(f"{path} is not valid YAML{line}; fix it or restore it from git") from None
    if not isinstance(spec, dict) or "$schema" not in spec:
        raise UserError(f"{path} is not an Azure ML spec (no $schema line); restore it from git")
    return spec


def job_inputs(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec's inputs: literal values as they are, data inputs as their dict."""
    return dict(spec.get("inputs") or {})


def check_inputs(spec_path: Path, declared: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    """Refuse values for inputs the spec does not declare, naming the spec to fix."""
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise UserError(
            f"{spec_path.name} has no input(s) {', '.join(unknown)}; "
            f"its inputs are {', '.join(sorted(declared))}"
        )


def resolve_command(
    command: str,
    inputs: Mapping[str, Any],
    values: Mapping[str, Any] | None = None,
    search_space: Mapping[str, Any] | None = None,
) -> list[str]:
    """The command as argv, each `${{inputs.X}}` replaced by `values[X]` or the spec's literal.

    A data input (a dict in the spec) must be given a value: locally that is the file's path.
    """
    values = dict(values or {})
    search_space = dict(search_space or {})

    def replace(match: re.Match[str]) -> str:
        scope, name = match["scope"], match["name"]
        if scope == "search_space":
            if name not in search_space:
                raise UserError(f"the command uses search_space.{name}, which no trial defines")
            return shlex.quote(str(search_space[name]))
        if name in values:
            return shlex.quote(str(values[name]))
        if name not in inputs:
            raise UserError(f"the command uses inputs.{name}, which the job spec does not declare")
        literal = inputs[name]
        if isinstance(literal, Mapping):
            raise UserError(
                f"input '{name}' is a {literal.get('type', 'data')} input: give its path"
            )
        return shlex.quote(str(literal))

    return shlex.split(PLACEHOLDER.sub(replace, " ".join(command.split())))


def project_inputs(settings: Settings) -> dict[str, Any]:
    """The job inputs that come from the project settings, the same locally and remotely.

    Names go percent-encoded (core.columns): Azure ML pastes a value into the command as it is,
    and the job's shell would split "Price (EUR)" or "my experiment" into words.
    """
    return {
        "target": encode_name(settings.target),
        "task": settings.task,
        "features": encode_columns(settings.features, ALL_COLUMNS),
        "ignore": encode_columns(settings.ignore, NO_COLUMNS),
        "experiment": encode_name(settings.experiment_name),
        "model_name": encode_name(settings.model_name),
        "test_size": settings.test_size,
        "random_state": settings.random_state,
    }


def local_command(
    spec_path: Path,
    data_file: Path,
    inputs: Mapping[str, Any],
    extra_args: tuple[str, ...] = (),
    python: str = "python",
) -> list[str]:
    """What `invoke train` runs: the job spec's command, its data input the local file.

    `python` replaces the command's leading `python`, so the project's interpreter runs it.
    """
    spec = load_spec(spec_path)
    declared = job_inputs(spec)
    check_inputs(spec_path, declared, inputs)
    argv = resolve_command(spec["command"], declared, {**inputs, "data": str(data_file)})
    if argv and argv[0] == "python":
        argv[0] = python
    return [*argv, *extra_args]


def check_command(argv: list[str], spec: str) -> None:
    """In-process training runs this module: a spec whose command runs something else is refused."""
    if tuple(argv[:3]) != TRAINING_COMMAND:
        raise UserError(
            f"{spec}'s command no longer starts with `{' '.join(TRAINING_COMMAND)}` "
            f"({' '.join(argv[:3])} ...); in-process training runs that module, fix the spec"
        )


def local_training_command(
    project: Project,
    overrides: Mapping[str, Any],
    extra_args: tuple[str, ...] = (),
    python: str = "python",
) -> list[str]:
    """What `invoke train` runs: azureml/train.yml's command with local values (the data input
    is the local file), so a local run and an Azure ML job run one command line."""
    inputs = {**project_inputs(project.settings), **overrides}
    data = Path(project.shown(project.data_path))
    return local_command(project.specs.train, data, inputs, extra_args, python=python)


def training_config(
    project: Project, hyperparameters: Mapping[str, Any], register: bool = True
) -> TrainingConfig:
    """The config `invoke train` trains with for these hyperparameters: the spec's inputs take
    the ones it declares, `--param NAME=VALUE` the others (what the notebooks train with)."""
    from diabetes_model.train import TrainingConfig

    declared = job_inputs(load_spec(project.specs.train))
    overrides = {k: v for k, v in hyperparameters.items() if k in declared}
    extra = [
        arg
        for name, value in hyperparameters.items()
        if name not in declared
        for arg in ("--param", f"{name}={value}")
    ]
    extra += [] if register else ["--no-register"]
    argv = local_training_command(project, overrides, tuple(extra))
    check_command(argv, "azureml/train.yml")
    # The command's data path is relative to the project root.
    config = TrainingConfig.from_argv(argv[3:])
    return dataclasses.replace(config, data=project.root / config.data)
