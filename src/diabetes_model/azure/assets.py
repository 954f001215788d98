"""Workspace assets the jobs need: the environment and the data, each versioned by its content
hash, so it is built or uploaded once. `invoke data --upload` registers the data asset."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from diabetes_model.console import Say
from diabetes_model.errors import UserError
from diabetes_model.job_specs import load_spec
from diabetes_model.project import Project

# Azure ML asset versions: letters, digits, '.', '_' and '-'. A hash prefix is plenty to tell
# two contents apart within one asset.
HASH_LENGTH = 16


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


def environment_reference(spec_path: Path) -> tuple[Any, str]:
    """The spec's environment with its content-hash version set, and its "azureml:" reference."""
    from azure.ai.ml import load_environment

    environment = load_environment(source=spec_path)
    if not environment.image or not environment.conda_file:
        raise UserError(f"{spec_path} needs both `image` and `conda_file`; restore it from git")
    environment.version = environment_hash(environment.image, environment.conda_file)
    return environment, f"azureml:{environment.name}:{environment.version}"


def ensure_environment(client: Any, spec_path: Path, say: Say = print) -> str:
    """Register the environment unless this content is there already; Azure ML builds its image
    on first use by a job, once per version."""
    environment, reference = environment_reference(spec_path)
    if exists(client.environments, environment.name, environment.version):
        say(f"environment {environment.name}:{environment.version} (reused)")
    else:
        client.environments.create_or_update(environment)
        say(f"environment {environment.name}:{environment.version} (registered; a job builds it)")
    return reference


def data_reference(spec_path: Path, local_file: Path | None = None) -> tuple[Any, str]:
    """The data asset of the spec for the local file, with its content-hash version set."""
    from azure.ai.ml import load_data

    raw = load_spec(spec_path)
    path = local_file or _spec_data_path(spec_path, raw)
    version = file_hash(path)
    data = load_data(source=spec_path, params_override=[{"path": str(path)}, {"version": version}])
    return data, f"azureml:{data.name}:{data.version}"


def ensure_data(
    client: Any, spec_path: Path, local_file: Path | None = None, say: Say = print
) -> str:
    """Register (and upload) the data file unless the same bytes are registered already."""
    data, reference = data_reference(spec_path, local_file)
    if exists(client.data, data.name, data.version):
        say(f"data asset {data.name}:{data.version} (reused)")
    else:
        size = Path(data.path).stat().st_size
        client.data.create_or_update(data)
        say(f"data asset {data.name}:{data.version} (uploaded {human_size(size)})")
    return reference


def upload_data(project: Project, say: Say = print) -> str:
    """`invoke data --upload`: register the local data file as the data asset, or reuse it."""
    from diabetes_model.azure.workspace import workspace_client

    with workspace_client(project.azure) as client:
        return ensure_data(client, project.specs.data, project.data_path, say=say)


def exists(operations: Any, name: str, version: str) -> bool:
    """Whether a versioned asset (environment, data, model) is registered already."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        operations.get(name=name, version=version)
    except ResourceNotFoundError:
        return False
    return True


def human_size(size: float) -> str:
    for unit in ("B", "kB", "MB"):
        if size < 1000:
            return f"{size:.0f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def _spec_data_path(spec_path: Path, spec: Mapping[str, Any]) -> Path:
    """The local file a data spec registers, resolved against the spec's folder."""
    path = Path(str(spec.get("path", "")))
    return path if path.is_absolute() else (spec_path.parent / path).resolve()
