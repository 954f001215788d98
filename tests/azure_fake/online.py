"""Managed online endpoints: what ARM adds to endpoints and deployments (scoring URI, keys,
defaults) and the scoring host itself, which checks key and deployment header as the service does.

Endpoints and deployments are otherwise plain ARM resources (arm.py stores them). A test decides
how a deployment answers by setting `cloud.online_scorer(deployment, body) -> Response`; the
default answers one prediction per row of an `input_data` request, like score.py.

What a deployment's data collector stored is put in the workspace's blob store with
`collect_inputs(cloud, endpoint, deployment, rows, when)`, in the collector's layout and format.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from azure_fake import storage
from azure_fake.arm import workspace_routes
from azure_fake.http import Request, Response, error

if TYPE_CHECKING:
    from azure_fake.cloud import FakeAzure

SCORING_HOST = r"(?P<endpoint>[a-z0-9-]+)\.(?P<region>[a-z0-9]+)\.inference\.ml\.azure\.com"
PRIMARY_KEY = "fake-endpoint-primary-key"  # the fake's own, accepted nowhere else
SECONDARY_KEY = "fake-endpoint-secondary-key"


def default_scorer(deployment: str, body: bytes) -> Response:
    try:
        rows = json.loads(body)["input_data"]["data"]
    except (ValueError, KeyError, TypeError):
        return Response(400, {"message": "send input_data with columns and data"})
    return Response(200, {"predictions": [150.0] * len(rows)})


def register(cloud: FakeAzure) -> None:
    router = cloud.router

    workspace_route = workspace_routes(cloud)

    @workspace_route("PUT", r"/onlineEndpoints/(?P<name>[^/]+)")
    def put_endpoint(request: Request) -> Response:
        name = request.params["name"]
        path = f"onlineEndpoints/{name}"
        existed = cloud.get(path) is not None
        body = request.json()
        region = cloud.workspace["location"]
        properties = body.setdefault("properties", {})
        properties["scoringUri"] = f"https://{name}.{region}.inference.ml.azure.com/score"
        properties["swaggerUri"] = f"https://{name}.{region}.inference.ml.azure.com/swagger.json"
        deployments = {d["name"] for d in cloud.children(f"{path}/deployments")}
        unknown = sorted(set(properties.get("traffic") or {}) - deployments)
        if unknown:
            return error(400, "BadRequest", f"traffic names unknown deployments {unknown}")
        if (properties.get("traffic") or {}) and sum(properties["traffic"].values()) != 100:
            return error(400, "BadRequest", "traffic must add up to 100")
        return Response(200 if existed else 201, cloud.put(request, path, body))

    @workspace_route("PUT", r"/onlineEndpoints/(?P<name>[^/]+)/deployments/(?P<slot>[^/]+)")
    def put_deployment(request: Request) -> Response:
        endpoint = request.params["name"]
        if cloud.get(f"onlineEndpoints/{endpoint}") is None:
            return error(404, "UserError", f"endpoint {endpoint} not found")
        path = f"onlineEndpoints/{endpoint}/deployments/{request.params['slot']}"
        existed = cloud.get(path) is not None
        body = request.json()
        properties = body.setdefault("properties", {})
        # The service fills in the scale settings a managed deployment leaves out, and answers
        # enum values in their own casing (the SDK sends "enabled", reads back "Enabled").
        properties.setdefault("scaleSettings", {"scaleType": "Default"})
        collections = (properties.get("dataCollector") or {}).get("collections") or {}
        for collection in collections.values():
            mode = str(collection.get("dataCollectionMode", "disabled"))
            collection["dataCollectionMode"] = mode.capitalize()
        return Response(200 if existed else 201, cloud.put(request, path, body))

    @workspace_route("POST", r"/onlineEndpoints/(?P<name>[^/]+)/listKeys")
    def list_keys(request: Request) -> Response:
        if cloud.get(f"onlineEndpoints/{request.params['name']}") is None:
            return error(404, "UserError", f"endpoint {request.params['name']} not found")
        return Response(200, {"primaryKey": PRIMARY_KEY, "secondaryKey": SECONDARY_KEY})

    # Registering an MLTable asset, the SDK fetches this JSON schema to validate the MLTable file,
    # and skips the validation when it cannot. The fake does not serve Azure's schema.
    @router.route("GET", r"azuremlschemasprod\.azureedge\.net", r"/latest/MLTable\.schema\.json")
    def mltable_schema(request: Request) -> Response:
        return Response(404, b"not served offline")

    @router.route("POST", SCORING_HOST, r"/score")
    def score(request: Request) -> Response:
        endpoint = request.params["endpoint"]
        if cloud.get(f"onlineEndpoints/{endpoint}") is None:
            return Response(404, {"message": f"no endpoint {endpoint}"})
        if request.headers.get("authorization") != f"Bearer {PRIMARY_KEY}":
            return Response(401, {"message": "key missing or wrong"})
        deployment = request.headers.get("azureml-model-deployment", "")
        if not deployment:
            return Response(424, {"message": "traffic routing is not faked: name a deployment"})
        if cloud.get(f"onlineEndpoints/{endpoint}/deployments/{deployment}") is None:
            return Response(404, {"message": f"no deployment {deployment}"})
        cloud.scored.append((endpoint, deployment, request.body))
        return cloud.online_scorer(deployment, request.body)


def collect_inputs(
    cloud: FakeAzure,
    endpoint: str,
    deployment: str,
    rows: Sequence[dict[str, Any]],
    when: float,
    per_request: int = 10,
) -> str:
    """Store `rows` as the deployment's collector does for requests scored at `when` (a UNIX
    time): one JSON-lines file under modelDataCollector/<endpoint>/<deployment>/model_inputs/
    YYYY/MM/DD/HH/, a line per request whose `data` lists that request's rows. Returns its name."""
    hour = time.strftime("%Y/%m/%d/%H", time.gmtime(when))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
    name = (
        f"modelDataCollector/{endpoint}/{deployment}/model_inputs/{hour}/{uuid.uuid4().hex}.jsonl"
    )
    lines = []
    for start in range(0, len(rows), per_request):
        request_id = uuid.uuid4().hex
        lines.append(json.dumps({
            "specversion": "1.0", "id": request_id, "time": stamp,
            "source": f"/subscriptions/x/onlineEndpoints/{endpoint}/deployments/{deployment}",
            "type": "azureml.inference.model_inputs", "datacontenttype": "application/json",
            "data": list(rows[start : start + per_request]), "correlationid": request_id,
            "xrequestid": request_id, "modelversion": "default",
            "collectdatatype": "pandas.core.frame.DataFrame", "agent": "azureml-ai-monitoring/1.0.0",
        }))  # fmt: skip
    data = ("\n".join(lines) + "\n").encode()
    cloud.blobs.setdefault(cloud.default_storage, {})[name] = storage.Blob(data)
    return name
