"""Azure Resource Manager: the workspace and its resources (datastores, assets, jobs, computes).

Most workspace resources behave alike, so one generic store serves them: PUT keeps the body
(plus id, name, type and a provisioning state), GET returns it, DELETE drops it, and GET on a
collection lists the children. Routes for behaviour beyond that (asset lookup by content hash,
pending uploads, datastore secrets, job status) are registered first and win.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from azure_fake import storage
from azure_fake.aad import check_bearer
from azure_fake.http import Request, Response, error

if TYPE_CHECKING:
    from azure_fake.cloud import FakeAzure

ARM_HOST = r"management\.azure\.com"
WORKSPACE = (
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)"
)
# Collections whose items are versioned assets: <kind>/<name>/versions/<version>.
ASSET_KINDS = "codes|environments|data|models|components"


def workspace_routes(cloud: FakeAzure):
    """A decorator for routes under a known workspace: token checked, 404 for an unknown one.

    Every service module of the fake that serves ARM paths below a workspace registers with it.
    """

    def workspace_route(method: str, path: str):
        def decorate(handler):
            def guarded(request: Request) -> Response:
                denied = check_bearer(cloud, request)
                if denied:
                    return denied
                if cloud.workspace_key(request.params) is None:
                    return workspace_not_found(request)
                return handler(request)

            cloud.router.add(method, ARM_HOST, WORKSPACE + path, guarded)
            return handler

        return decorate

    return workspace_route


def register(cloud: FakeAzure) -> None:
    workspace_route = workspace_routes(cloud)

    @workspace_route("GET", "")
    def get_workspace(request: Request) -> Response:
        return Response(200, cloud.workspace)

    @workspace_route("GET", r"/codes/(?P<name>[^/]+)/versions")
    def list_code_versions(request: Request) -> Response:
        # Before uploading, the SDK asks for a snapshot with the same content hash: the service
        # looks across every code asset of the workspace, whatever name the URL carries.
        wanted = request.query.get("hash")
        if not wanted:
            return Response(
                200, {"value": cloud.children(f"codes/{request.params['name']}/versions")}
            )
        same = [
            code
            for code in cloud.assets("codes").values()
            if code["properties"].get("properties", {}).get("hash_sha256") == wanted
        ]
        return Response(200, {"value": same})

    @workspace_route(
        "POST",
        rf"/(?P<kind>{ASSET_KINDS})/(?P<name>[^/]+)/versions/(?P<version>[^/]+)/startPendingUpload",
    )
    def start_pending_upload(request: Request) -> Response:
        account, container = cloud.default_storage
        blob_dir = f"LocalUpload/{uuid.uuid4().hex}"
        blob_uri = f"https://{account}.blob.core.windows.net/{container}/{blob_dir}"
        return Response(
            200,
            {
                "blobReferenceForConsumption": {
                    "blobUri": blob_uri,
                    "storageAccountArmId": f"/subscriptions/{request.params['sub']}/resourceGroups/"
                    f"{request.params['rg']}/providers/Microsoft.Storage/storageAccounts/{account}",
                    "credential": {
                        "credentialType": "SAS",
                        "sasUri": f"{blob_uri}?{storage.sas_token(cloud)}",
                    },
                },
                "pendingUploadId": uuid.uuid4().hex,
                "pendingUploadType": "TemporaryBlobReference",
            },
        )

    @workspace_route("GET", r"/datastores")
    def list_datastores(request: Request) -> Response:
        stores = cloud.children("datastores")
        if request.query.get("isdefault", "").lower() == "true":
            stores = [s for s in stores if s["properties"].get("isDefault")]
        return Response(200, {"value": stores})

    @workspace_route("POST", r"/datastores/(?P<name>[^/]+)/listSecrets")
    def datastore_secrets(request: Request) -> Response:
        if cloud.get(f"datastores/{request.params['name']}") is None:
            return error(404, "UserError", f"datastore {request.params['name']} not found")
        return Response(200, {"secretsType": "Sas", "sasToken": storage.sas_token(cloud)})

    @workspace_route("PUT", r"/jobs/(?P<name>[^/]+)")
    def create_job(request: Request) -> Response:
        body = request.json()
        name = request.params["name"]
        properties = body["properties"]
        properties["status"] = "NotStarted"
        properties["services"] = {
            "Studio": {"jobServiceType": "Studio", "endpoint": cloud.studio_url(name)},
            "Tracking": {"jobServiceType": "Tracking", "endpoint": cloud.workspace_mlflow_uri},
        }
        properties.setdefault("experimentName", "Default")
        cloud.jobs_created.append(name)
        stored = cloud.put(request, f"jobs/{name}", body)
        cloud.job_runs[name] = cloud.job_script(stored)
        return Response(201, stored)

    @workspace_route("GET", r"/jobs/(?P<name>[^/]+)")
    def get_job(request: Request) -> Response:
        job = cloud.get(f"jobs/{request.params['name']}")
        if job is None:
            return error(404, "UserError", f"job {request.params['name']} not found")
        cloud.advance(request.params["name"])
        return Response(200, job)

    @workspace_route("POST", r"/jobs/(?P<name>[^/]+)/cancel")
    def cancel_job(request: Request) -> Response:
        run = cloud.job_runs[request.params["name"]]
        run.statuses[:] = ["CancelRequested", "Canceled"]
        cloud.advance(request.params["name"])
        return Response(202, None, {"Location": request.url})

    @workspace_route("PUT", r"/models/(?P<name>[^/]+)/versions/(?P<version>[^/]+)")
    def create_model_version(request: Request) -> Response:
        # The service reads an MLflow model's flavors from its MLmodel file and always returns
        # the field; the fake has no artifact to read, so it answers with none.
        body = request.json()
        body["properties"].setdefault("flavors", {})
        path = f"models/{request.params['name']}/versions/{request.params['version']}"
        existed = cloud.get(path) is not None
        return Response(200 if existed else 201, cloud.put(request, path, body))

    # Generic resources: must come after the specific routes above.
    @workspace_route("PUT", r"/(?P<resource>.+)")
    def put_resource(request: Request) -> Response:
        path = request.params["resource"]
        existed = cloud.get(path) is not None
        return Response(200 if existed else 201, cloud.put(request, path, request.json()))

    @workspace_route("GET", r"/(?P<resource>.+)")
    def get_resource(request: Request) -> Response:
        path = request.params["resource"]
        found = cloud.get(path)
        if found is not None:
            return Response(200, found)
        if path.count("/") % 2 == 0:  # a collection: kind, or kind/name/subkind
            if path.endswith("/versions") and cloud.get(path.rsplit("/", 1)[0]) is None:
                return error(404, "UserError", f"{path.rsplit('/', 1)[0]} not found")
            return Response(200, {"value": listed(cloud, path, request)})
        return error(404, "UserError", f"Could not find {path} in workspace {request.params['ws']}")

    @workspace_route("DELETE", r"/(?P<resource>.+)")
    def delete_resource(request: Request) -> Response:
        found = cloud.resources.pop(request.params["resource"], None)
        return Response(200 if found else 204)


def listed(cloud: FakeAzure, collection: str, request: Request) -> list[dict[str, Any]]:
    """A collection's items; `$orderBy=createdtime desc` and `$top` as the service applies them
    (the SDK resolves an asset's `@latest` that way). The fake creates in insertion order."""
    items = cloud.children(collection)
    order = request.query.get("$orderby", "").lower()
    if order.startswith("createdtime"):
        created = list(cloud.resources.values())
        items.sort(key=lambda item: created.index(item), reverse=order.endswith("desc"))
    top = request.query.get("$top")
    return items[: int(top)] if top else items


def workspace_not_found(request: Request) -> Response:
    return error(
        404,
        "ResourceNotFound",
        f"The Resource 'Microsoft.MachineLearningServices/workspaces/{request.params['ws']}' "
        f"under resource group '{request.params['rg']}' was not found.",
    )


def arm_envelope(cloud: FakeAzure, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """What ARM adds around a resource body: id, name, type and system data."""
    parts = path.split("/")
    kinds = [p for i, p in enumerate(parts) if i % 2 == 0]
    resource = {**body}
    resource["id"] = f"{cloud.workspace['id']}/{path}"
    resource["name"] = parts[-1]
    resource["type"] = "Microsoft.MachineLearningServices/workspaces/" + "/".join(kinds)
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())
    resource["systemData"] = {
        "createdAt": now,
        "createdBy": "fake-user",
        "createdByType": "User",
        "lastModifiedAt": now,
    }
    properties = resource.setdefault("properties", {})
    if isinstance(properties, dict):
        properties.setdefault("provisioningState", "Succeeded")
    return resource
