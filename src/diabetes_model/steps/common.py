"""What every pipeline step shares: its command line (argparse, refused in one line), its entry
point (a UserError is one line and exit 1), and files written whole or not at all."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from diabetes_model.errors import UserError
from diabetes_model.settings import Settings
from diabetes_model.train import FlagError


class StepParser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not a usage dump
        raise FlagError(f"{message} (see --help)")


def boolean(text: str) -> bool:
    """A boolean input as Azure ML writes it into a command (True/False) or a person does."""
    lowered = text.strip().lower()
    if lowered not in {"true", "false", "1", "0", "yes", "no"}:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return lowered in {"true", "1", "yes"}


# A step's work: argv, the MLflow tracking URI and the environment in; an exit code out.
StepRun = Callable[[list[str], str, Mapping[str, str]], int]


def step_main(run: StepRun, argv: list[str] | None = None) -> int:
    """`python -m diabetes_model.steps.<step>`: MLflow's store is the environment's
    (Azure ML sets MLFLOW_TRACKING_URI in a job), else the project's; errors are one line."""
    # MLflow draws a progress bar for every model it downloads: noise in a job's log.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    environ = dict(os.environ)
    tracking_uri = Settings.from_sources(environ=environ).tracking_uri_for(Path.cwd())
    try:
        return run(sys.argv[1:] if argv is None else argv, tracking_uri, environ)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2 if isinstance(error, FlagError) else 1


def write_text(path: Path, text: str) -> Path:
    """Write a file whole or not at all: a temporary file beside it, renamed when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_json(path: Path, values: Mapping[str, Any]) -> Path:
    return write_text(path, json.dumps(values, indent=2, sort_keys=True) + "\n")


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON file an earlier step wrote; missing or unreadable is one line naming the step."""
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(
            f"{path} not found: {what} did not write it; run the pipeline again"
        ) from None
    except (OSError, ValueError) as error:
        raise UserError(f"{path} is not readable JSON ({error}); run the pipeline again") from None
    if not isinstance(values, dict):
        raise UserError(f"{path} is not what {what} writes; run the pipeline again")
    return values
