"""`invoke compute`: create or update the training cluster of azureml/compute.yml."""

from __future__ import annotations

from typing import Any

from diabetes_model.console import Say
from diabetes_model.project import Project


def create_compute(project: Project, say: Say = print) -> Any:
    """Create the cluster from its spec, or update it to match (size cannot change in place)."""
    from azure.ai.ml import load_compute

    from diabetes_model.azure.workspace import workspace_client

    compute = load_compute(source=project.specs.compute)
    with workspace_client(project.azure) as client:
        result = client.compute.begin_create_or_update(compute).result()
    say(
        f"compute {result.name}: {result.size}, {result.min_instances}-{result.max_instances} "
        f"nodes, scales down after {result.idle_time_before_scale_down}s idle"
    )
    return result
