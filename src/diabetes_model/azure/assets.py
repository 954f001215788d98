"""Workspace assets the jobs need: the environment and the data (each versioned by its content
hash, so it is built or uploaded once), the compute cluster, and models registered from jobs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from diabetes_model.azure import specs
from diabetes_model.errors import UserError

Say = Callable[[str], None]


def environment_reference(spec_path: Path) -> tuple[Any, str]:
    """The spec's environment with its content-hash version set, and its "azureml:" reference."""
    from azure.ai.ml import load_environment

    environment = load_environment(source=spec_path)
    if not environment.image or not environment.conda_file:
        raise UserError(f"{spec_path} needs both `image` and `conda_file`; restore it from git")
    environment.version = specs.environment_hash(environment.image, environment.conda_file)
    return environment, f"azureml:{environment.name}:{environment.version}"


def ensure_environment(client: Any, spec_path: Path, say: Say = print) -> str:
    """Register the environment unless this content is there already; Azure ML builds its image
    on first use by a job, once per version."""
    environment, reference = environment_reference(spec_path)
    if _exists(client.environments, environment.name, environment.version):
        say(f"environment {environment.name}:{environment.version} (reused)")
    else:
        client.environments.create_or_update(environment)
        say(f"environment {environment.name}:{environment.version} (registered; a job builds it)")
    return reference


def data_reference(spec_path: Path, local_file: Path | None = None) -> tuple[Any, str]:
    """The data asset of the spec for the local file, with its content-hash version set."""
    from azure.ai.ml import load_data

    raw = specs.load_spec(spec_path)
    path = local_file or specs.data_path(spec_path, raw)
    version = specs.file_hash(path)
    data = load_data(source=spec_path, params_override=[{"path": str(path)}, {"version": version}])
    return data, f"azureml:{data.name}:{data.version}"


def ensure_data(
    client: Any, spec_path: Path, local_file: Path | None = None, say: Say = print
) -> str:
    """Register (and upload) the data file unless the same bytes are registered already."""
    data, reference = data_reference(spec_path, local_file)
    if _exists(client.data, data.name, data.version):
        say(f"data asset {data.name}:{data.version} (reused)")
    else:
        size = Path(data.path).stat().st_size
        client.data.create_or_update(data)
        say(f"data asset {data.name}:{data.version} (uploaded {human_size(size)})")
    return reference


def ensure_compute(client: Any, spec_path: Path, say: Say = print) -> Any:
    """Create the cluster from its spec, or update it to match (size cannot change in place)."""
    from azure.ai.ml import load_compute

    compute = load_compute(source=spec_path)
    poller = client.compute.begin_create_or_update(compute)
    result = poller.result()
    say(
        f"compute {result.name}: {result.size}, {result.min_instances}-{result.max_instances} "
        f"nodes, scales down after {result.idle_time_before_scale_down}s idle"
    )
    return result


def register_job_model(client: Any, job_name: str, model_name: str, say: Say = print) -> Any:
    """Register the MLflow model a finished job logged, tagged with where it came from."""
    from azure.ai.ml.constants import AssetTypes
    from azure.ai.ml.entities import Model
    from azure.core.exceptions import ResourceNotFoundError

    try:
        job = client.jobs.get(job_name)
    except ResourceNotFoundError:
        raise UserError(
            f"no job named '{job_name}' in the workspace; `az ml job list` shows the names"
        ) from None
    if job.status != "Completed":
        raise UserError(
            f"job {job_name} is {job.status}, not Completed: register a completed job "
            "(invoke train --remote --stream waits for one)"
        )
    model = Model(
        name=model_name,
        # Azure ML's job name is the MLflow run id; the training logs its model as "model".
        path=f"runs:/{job_name}/model",
        type=AssetTypes.MLFLOW_MODEL,
        description=f"Trained by job {job_name}",
        tags=lineage_tags(job),
    )
    registered = client.models.create_or_update(model)
    say(f"registered model {registered.name}:{registered.version} from job {job_name}")
    return registered


def lineage_tags(job: Any) -> dict[str, str]:
    """Where a model came from: the job, its code version, data and environment."""
    tags = {"job": job.name, "experiment": job.experiment_name or ""}
    for key in ("commit", "branch", "author"):
        if key in (job.tags or {}):
            tags[key] = job.tags[key]
    data = (job.inputs or {}).get("data")
    if data is not None and getattr(data, "path", None):
        tags["data"] = _asset_reference(str(data.path))
    if job.environment:
        tags["environment"] = _asset_reference(str(job.environment))
    return {k: v for k, v in tags.items() if v}


def _asset_reference(value: str) -> str:
    # The SDK hands back workspace assets as "name:version"; tags say "azureml:name:version".
    if value.startswith(("azureml:", "/", "https:")) or value.count(":") != 1:
        return value
    return f"azureml:{value}"


def _exists(operations: Any, name: str, version: str) -> bool:
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
