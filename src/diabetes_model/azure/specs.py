"""The Azure ML YAML specs as plain data: reading them, the job's command line with its inputs
resolved to local values, and content hashes that version the environment and the data."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from diabetes_model.errors import UserError

PLACEHOLDER = re.compile(r"\$\{\{\s*(?P<scope>inputs|search_space)\.(?P<name>\w+)\s*\}\}")
# Azure ML asset versions: letters, digits, '.', '_' and '-'. A hash prefix is plenty to tell
# two contents apart within one asset.
HASH_LENGTH = 16


def load_spec(path: Path) -> dict[str, Any]:
    """A spec file as a dict; it must exist and name its JSON schema."""
    import yaml

    if not path.is_file():
        raise UserError(f"Azure ML spec {path} not found; restore it from git")
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(spec, dict) or "$schema" not in spec:
        raise UserError(f"{path} is not an Azure ML spec (no $schema line); restore it from git")
    return spec


def job_inputs(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec's inputs: literal values as they are, data inputs as their dict."""
    return dict(spec.get("inputs") or {})


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


def unknown_overrides(inputs: Mapping[str, Any], overrides: Mapping[str, Any]) -> list[str]:
    return sorted(set(overrides) - set(inputs))


def project_inputs(settings: Any) -> dict[str, Any]:
    """The job inputs that come from the project settings, the same locally and remotely."""
    return {
        "target": settings.target,
        "experiment": settings.experiment_name,
        "model_name": settings.model_name,
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
    unknown = unknown_overrides(declared, inputs)
    if unknown:
        raise UserError(
            f"{spec_path.name} has no input(s) {', '.join(unknown)}; "
            f"its inputs are {', '.join(sorted(declared))}"
        )
    argv = resolve_command(spec["command"], declared, {**inputs, "data": str(data_file)})
    if argv and argv[0] == "python":
        argv[0] = python
    return [*argv, *extra_args]


def content_hash(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:HASH_LENGTH]


def file_hash(path: Path) -> str:
    """The version of a data asset: the hash of the file's bytes."""
    if not path.is_file():
        raise UserError(f"data file {path} not found; run `invoke data` first")
    return content_hash(path.read_bytes())


def environment_hash(image: str, conda: Mapping[str, Any]) -> str:
    """The version of an environment: its image and conda content, not the file's comments."""
    return content_hash(image.encode(), json.dumps(conda, sort_keys=True).encode())


def data_path(spec_path: Path, spec: Mapping[str, Any]) -> Path:
    """The local file a data spec registers, resolved against the spec's folder."""
    path = Path(str(spec.get("path", "")))
    return path if path.is_absolute() else (spec_path.parent / path).resolve()
