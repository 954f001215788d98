"""`invoke register --job NAME`: a completed Azure ML job's MLflow model into the workspace
registry, tagged with where it came from."""

from __future__ import annotations

from typing import Any

from diabetes_model.console import Say
from diabetes_model.errors import UserError
from diabetes_model.project import Project


def register_job_model(project: Project, job_name: str, say: Say = print) -> Any:
    """Register the MLflow model the job logged; refuse a job that has not completed."""
    from azure.ai.ml.constants import AssetTypes
    from azure.ai.ml.entities import Model
    from azure.core.exceptions import ResourceNotFoundError

    from diabetes_model.azure.workspace import workspace_client

    with workspace_client(project.azure) as client:
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
            name=project.settings.model_name,
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
