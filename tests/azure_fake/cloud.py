"""The fake cloud: one workspace's state, the routes of every service, and fault injection."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests

from azure_fake import aad, arm, online, pipelines, run_history, storage
from azure_fake.http import Request, Response, Router, UnhandledRequest, parse, to_requests_response

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
TENANT = "00000000-0000-0000-0000-00000000000a"
CLIENT_ID = "00000000-0000-0000-0000-00000000000c"
# The fake's own secret, accepted nowhere else.
CLIENT_SECRET = "fake-client-secret"  # pragma: allowlist secret
RESOURCE_GROUP = "rg-fake"
WORKSPACE = "ws-fake"
REGION = "westeurope"
STORAGE_ACCOUNT = "fakestorage"
BLOB_CONTAINER = "azureml-blobstore-fake"
# Azure's instance metadata service: unreachable here, as on any machine outside Azure.
IMDS_HOST = "169.254.169.254"


@dataclass
class JobRun:
    """How a submitted job behaves: the statuses it goes through and what it logs."""

    statuses: list[str]
    log: str
    error: str | None = None


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)


class FakeAzure:
    """State of one subscription with one workspace, and the router over all its services."""

    def __init__(self) -> None:
        self.router = Router()
        self.service_principal = (CLIENT_ID, CLIENT_SECRET)
        self.token_lifetime = 3600
        self.tokens: dict[str, float] = {}
        self.token_scopes: list[str] = []
        self.rejected_tokens = 0
        self.sas_signatures: set[str] = set()
        self.blobs: dict[tuple[str, str], dict[str, storage.Blob]] = {}
        self.staged_blocks: dict[tuple[str, str, str], bytes] = {}
        self.resources: dict[str, dict[str, Any]] = {}  # path under the workspace -> resource
        self.job_runs: dict[str, JobRun] = {}
        self.jobs_created: list[str] = []
        self.requests: list[Request] = []
        self.unhandled: list[str] = []
        self.imds_probes = 0  # managed-identity probes, refused as off Azure
        self.faults: list[Fault] = []
        # What the next submitted job does; tests change these before submitting.
        self.job_statuses = ["Queued", "Running", "Running", "Completed"]
        self.job_error: str | None = None
        # Pipeline jobs (pipelines.py): the step that fails, the tags each step's run carries,
        # and the child runs of each submitted pipeline.
        self.failing_step: str | None = None
        self.step_tags: dict[str, dict[str, str]] = {}
        self.pipeline_children: dict[str, list[dict[str, Any]]] = {}
        # How online deployments answer scoring requests (online.py), and what they were sent.
        self.online_scorer = online.default_scorer
        self.scored: list[tuple[str, str, bytes]] = []
        self.default_storage = (STORAGE_ACCOUNT, BLOB_CONTAINER)
        self.workspace = self._workspace()
        self.resources["datastores/workspaceblobstore"] = arm.arm_envelope(
            self, "datastores/workspaceblobstore", self._blob_datastore()
        )
        aad.register(self)
        run_history.register(self)
        pipelines.register(self)
        online.register(self)  # before arm: its endpoint routes win over the generic ones
        arm.register(self)
        storage.register(self)

    # --- the workspace's resources -------------------------------------------------------------
    def workspace_key(self, params: Mapping[str, str]) -> tuple[str, str, str] | None:
        key = (params["sub"], params["rg"].lower(), params["ws"].lower())
        return key if key == (SUBSCRIPTION, RESOURCE_GROUP.lower(), WORKSPACE.lower()) else None

    def get(self, path: str) -> dict[str, Any] | None:
        return self.resources.get(path)

    def put(self, request: Request, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.resources[path] = arm.arm_envelope(self, path, body)
        parts = path.split("/")
        if len(parts) == 4 and parts[2] == "versions":
            # A versioned asset's container tracks the latest and next version, as the service does.
            container = "/".join(parts[:2])
            versions = [
                p.split("/")[-1] for p in self.resources if p.startswith(container + "/versions/")
            ]
            numeric = [int(v) for v in versions if v.isdigit()]
            properties = {
                "latestVersion": parts[3],
                "nextVersion": str(max(numeric, default=0) + 1),
            }
            self.resources[container] = arm.arm_envelope(
                self, container, {"properties": properties}
            )
        return self.resources[path]

    def children(self, collection: str) -> list[dict[str, Any]]:
        depth = collection.count("/") + 1
        return [
            resource
            for path, resource in sorted(self.resources.items())
            if path.startswith(collection + "/") and path.count("/") == depth
        ]

    def assets(self, kind: str) -> dict[str, dict[str, Any]]:
        """Registered versions of one asset kind, as {"name:version": resource}."""
        found = {}
        for path, resource in self.resources.items():
            parts = path.split("/")
            if len(parts) == 4 and parts[0] == kind and parts[2] == "versions":
                found[f"{parts[1]}:{parts[3]}"] = resource
        return found

    def blob(self, path: str) -> bytes:
        """The bytes of a stored blob, by the `account/container/name` path `blob_names` lists."""
        account, container, name = path.split("/", 2)
        return self.blobs[(account, container)][name].data

    # --- jobs ----------------------------------------------------------------------------------
    def job(self, name: str) -> dict[str, Any]:
        job = self.get(f"jobs/{name}")
        if job is None:
            raise KeyError(f"no job {name} was submitted; submitted: {self.jobs_created}")
        return job

    def job_script(self, job: dict[str, Any]) -> JobRun:
        if pipelines.is_pipeline(job):
            return pipelines.start(self, job["name"], job)
        command = job["properties"].get("command", "")
        log = f"Running: {command}\n"
        if self.job_error:
            log += f"Traceback (most recent call last):\n{self.job_error}\n"
        else:
            log += "training finished\n"
        return JobRun(list(self.job_statuses), log, self.job_error)

    def advance(self, name: str) -> None:
        """Each look at a job moves it one status on, so polling reaches the end quickly."""
        run = self.job_runs[name]
        if run.statuses:
            self.job(name)["properties"]["status"] = run.statuses.pop(0)

    def pipeline_steps(self, name: str) -> dict[str, dict[str, Any]]:
        """The steps of a submitted pipeline job: command, inputs, environment variables."""
        return pipelines.steps(self, name)

    def studio_url(self, job_name: str) -> str:
        return f"https://ml.azure.com/runs/{job_name}?wsid={self.workspace['id']}&tid={TENANT}"

    @property
    def workspace_mlflow_uri(self) -> str:
        return self.workspace["properties"]["mlFlowTrackingUri"]

    # --- faults --------------------------------------------------------------------------------
    def fail(
        self,
        method: str,
        path: str,
        status: int,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests matching method and path regex with `status`."""
        self.faults.append(
            Fault(method.upper(), re.compile(path), status, times, dict(headers or {}))
        )

    def _injected_fault(self, request: Request) -> Response | None:
        for fault in self.faults:
            if fault.times and fault.method == request.method and fault.path.search(request.path):
                fault.times -= 1
                code = {401: "InvalidAuthenticationToken", 429: "TooManyRequests"}.get(
                    fault.status, "ServiceUnavailable"
                )
                body = {"error": {"code": code, "message": f"injected {fault.status}"}}
                return Response(fault.status, body, fault.headers)
        return None

    # --- transport -----------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        self.requests.append(request)
        return self._injected_fault(request) or self.router.dispatch(request)

    @contextmanager
    def installed(self) -> Iterator[FakeAzure]:
        """Route every `requests` call in this process to the fake while the block runs."""
        original = requests.adapters.HTTPAdapter.send
        cloud = self

        def send(adapter, prepared, *args, **kwargs):
            request = parse(prepared)
            if request.host == IMDS_HOST:
                cloud.imds_probes += 1
                raise requests.ConnectionError(f"no route to {IMDS_HOST} (not on Azure)")
            try:
                response = cloud.handle(request)
            except UnhandledRequest as exc:
                # Also recorded: some callers (credential chains) swallow exceptions.
                cloud.unhandled.append(str(exc))
                raise
            return to_requests_response(adapter, prepared, response)

        requests.adapters.HTTPAdapter.send = send
        try:
            yield self
        finally:
            requests.adapters.HTTPAdapter.send = original

    def requests_to(self, method: str, path_pattern: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and re.search(path_pattern, r.path)]

    # --- initial state -------------------------------------------------------------------------
    def _workspace(self) -> dict[str, Any]:
        arm_id = (
            f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{WORKSPACE}"
        )
        api = f"{REGION}.api.azureml.ms"
        return {
            "id": arm_id,
            "name": WORKSPACE,
            "type": "Microsoft.MachineLearningServices/workspaces",
            "location": REGION,
            "kind": "Default",
            "identity": {"type": "SystemAssigned"},
            "sku": {"name": "Basic", "tier": "Basic"},
            "properties": {
                "friendlyName": WORKSPACE,
                "workspaceId": "00000000-0000-0000-0000-0000000000ff",
                "discoveryUrl": f"https://{api}/discovery",
                "mlFlowTrackingUri": f"azureml://{api}/mlflow/v1.0{arm_id}",
                "storageAccount": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
                f"/providers/Microsoft.Storage/storageAccounts/{STORAGE_ACCOUNT}",
                "provisioningState": "Succeeded",
                "publicNetworkAccess": "Enabled",
            },
        }

    def _blob_datastore(self) -> dict[str, Any]:
        return {
            "properties": {
                "datastoreType": "AzureBlob",
                "accountName": STORAGE_ACCOUNT,
                "containerName": BLOB_CONTAINER,
                "endpoint": "core.windows.net",
                "protocol": "https",
                "isDefault": True,
                "credentials": {"credentialsType": "AccountKey"},
            }
        }
