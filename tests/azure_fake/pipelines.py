"""Pipeline jobs: the steps a pipeline job's PUT carries (each referring to an anonymous component
the SDK PUT just before, which arm.py stores like any versioned asset), a child run per step in run
history, the pipeline's execution log, and a step that fails on demand.

    cloud.failing_step = "train"         # train fails, the steps after it never start
    cloud.step_tags["register"] = {...}  # tags the step's run carries (what MLflow set in it)
    cloud.pipeline_steps(name)           # {step: {"command", "inputs", "environment_variables"}}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from azure_fake.http import Request, Response
from azure_fake.run_history import refusal

if TYPE_CHECKING:
    from azure_fake.cloud import FakeAzure, JobRun

API_HOST = r"(?P<region>[a-z0-9]+)\.api\.azureml\.ms"
RUN_HISTORY = (
    r"/history/v1\.0/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)"
)
EXECUTION_LOG = "logs/azureml/executionlogs.txt"


def is_pipeline(job: dict[str, Any]) -> bool:
    return job["properties"].get("jobType") == "Pipeline"


def start(cloud: FakeAzure, name: str, job: dict[str, Any]) -> JobRun:
    """The pipeline's statuses and log, and its steps as child runs, each ending as it will."""
    from azure_fake.cloud import JobRun

    steps = list(job["properties"].get("jobs") or {})
    failing = cloud.failing_step
    if failing is not None and failing not in steps:
        raise AssertionError(f"no step {failing} in the pipeline; its steps: {steps}")
    children, log, reached = [], [f"[pipeline {name}] started\n"], True
    for step in steps:
        status = "Completed" if reached else "NotStarted"
        if step == failing:
            status, reached = "Failed", False
        children.append(_child_run(cloud, name, job, step, status))
        log.append(f"[step {step}] {status}\n")
    cloud.pipeline_children[name] = children
    if failing is None:
        return JobRun(list(cloud.job_statuses), "".join(log))
    message = f"Pipeline has failed child jobs: step {failing} failed."
    return JobRun([*cloud.job_statuses[:-1], "Failed"], "".join(log), message)


def _child_run(
    cloud: FakeAzure, name: str, job: dict[str, Any], step: str, status: str
) -> dict[str, Any]:
    return {
        "runId": f"{name}_{step}",
        "parentRunId": name,
        "rootRunId": name,
        "displayName": step,
        "status": status,
        "experimentId": job["properties"].get("experimentName", "Default"),
        "tags": dict(cloud.step_tags.get(step, {})),
        "properties": {"azureml.nodeid": step},
    }


def steps(cloud: FakeAzure, name: str) -> dict[str, dict[str, Any]]:
    """What each step of a submitted pipeline runs: its component's command, its inputs and its
    environment variables, as the service received them."""
    found = {}
    for step, node in (cloud.job(name)["properties"].get("jobs") or {}).items():
        component_path = node["componentId"].split(f"/workspaces/{cloud.workspace['name']}/", 1)[1]
        component = cloud.get(component_path)
        if component is None:
            raise AssertionError(f"step {step} refers to {component_path}, which was never PUT")
        found[step] = {
            "command": component["properties"]["componentSpec"]["command"],
            "component": component["properties"]["componentSpec"],
            "inputs": node.get("inputs") or {},
            "environment_variables": node.get("environment_variables") or {},
        }
    return found


def register(cloud: FakeAzure) -> None:
    @cloud.router.route(
        "GET", API_HOST, RUN_HISTORY + r"(?:/experiments/[^/]+)?/runs/(?P<run>[^/]+)/children"
    )
    def children(request: Request) -> Response:
        refused = refusal(cloud, request)
        if refused:
            return refused
        name = request.params["run"]
        if name not in cloud.pipeline_children:
            return Response(200, {"value": []})  # a command job has no children
        return Response(200, {"value": cloud.pipeline_children[name]})
