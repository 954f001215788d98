"""Azure ML's regional data-plane services: discovery and run history (status and logs).

A job's log is a blob in the workspace's default container, revealed line by line as the job
moves through its statuses, and run details hand out a SAS URL to it, as the service does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from azure_fake import storage
from azure_fake.aad import check_bearer
from azure_fake.http import Request, Response, error

if TYPE_CHECKING:
    from azure_fake.cloud import FakeAzure

API_HOST = r"(?P<region>[a-z0-9]+)\.api\.azureml\.ms"
RUN_HISTORY = (
    r"/history/v1\.0/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)"
)
LOG_NAME = "user_logs/std_log.txt"
TERMINAL = {"Completed", "Failed", "Canceled", "NotResponding", "Paused"}


def register(cloud: FakeAzure) -> None:
    router = cloud.router

    @router.route("GET", API_HOST, r"/discovery")
    def discovery(request: Request) -> Response:
        base = f"https://{request.host}"
        keys = ("api", "catalog", "experimentation", "gallery", "history", "hyperdrive", "labeling")
        return Response(200, {key: base for key in keys})

    @router.route(
        "GET", API_HOST, RUN_HISTORY + r"(?:/experiments/[^/]+)?/runs/(?P<run>[^/]+)/details"
    )
    def run_details(request: Request) -> Response:
        refused = refusal(cloud, request)
        if refused:
            return refused
        name = request.params["run"]
        if name not in cloud.job_runs:
            return error(404, "UserError", f"Run {name} was not found")
        cloud.advance(name)
        status = cloud.job(name)["properties"]["status"]
        details = {
            "runId": name,
            "status": status,
            "target": cloud.job(name)["properties"].get("computeId"),
            "logFiles": {log_name(cloud, name): publish_log(cloud, name, status)},
            "warnings": [],
        }
        run = cloud.job_runs[name]
        if status == "Failed":
            details["error"] = {
                "error": {"code": "UserError", "message": run.error or "Execution failed."}
            }
        return Response(200, details)


def refusal(cloud: FakeAzure, request: Request) -> Response | None:
    """What run history answers a request without a live token (401) or for an unknown workspace
    (404); None for one it serves."""
    denied = check_bearer(cloud, request)
    if denied:
        return denied
    if cloud.workspace_key(request.params) is None:
        return error(404, "UserError", f"workspace {request.params['ws']} not found")
    return None


def log_name(cloud: FakeAzure, name: str) -> str:
    """A pipeline writes its execution log; a command job its user log."""
    from azure_fake.pipelines import EXECUTION_LOG, is_pipeline

    return EXECUTION_LOG if is_pipeline(cloud.job(name)) else LOG_NAME


def publish_log(cloud: FakeAzure, name: str, status: str) -> str:
    """Write as much of the job's log as its status allows; return a SAS URL to it."""
    lines = cloud.job_runs[name].log.splitlines(keepends=True)
    shown = lines if status in TERMINAL else lines[:1] if status == "Running" else []
    account, container = cloud.default_storage
    blob_name = f"ExperimentRun/dcid.{name}/{log_name(cloud, name)}"
    cloud.blobs.setdefault((account, container), {})[blob_name] = storage.Blob(
        "".join(shown).encode(), content_type="text/plain"
    )
    return (
        f"https://{account}.blob.core.windows.net/{container}/{blob_name}"
        f"?{storage.sas_token(cloud)}"
    )
