"""What the online endpoint serves: the endpoint itself, the model version each slot runs, and the
live slot; `invoke deploy --rollback` and `invoke drift --remote` read them."""

from __future__ import annotations

import re
from typing import Any

from diabetes_model.azure.settings import Workspace
from diabetes_model.errors import UserError

# A deployment's model, as the service returns it: an ARM id ending in /models/NAME/versions/N
# (or the "azureml:NAME:N" a spec writes).
MODEL_VERSION = re.compile(
    r"(?:/models/|azureml:)(?P<name>[^/:]+)(?:/versions/|:)(?P<version>\d+)$"
)


def get_endpoint(client: Any, name: str) -> Any:
    """The endpoint, or one line saying there is none and how to make it."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return client.online_endpoints.get(name)
    except ResourceNotFoundError:
        raise UserError(
            f"no online endpoint {name} in the workspace: deploy a model first (invoke deploy), "
            "or set deploy.endpoint_name in invoke.yaml to the one you use"
        ) from None


def slot_versions(client: Any, endpoint: str, model_name: str) -> dict[str, str]:
    """{slot: version of `model_name` it runs}; a slot running another model is left out."""
    found = {}
    for deployment in client.online_deployments.list(endpoint_name=endpoint):
        match = MODEL_VERSION.search(str(deployment.model or ""))
        if match and match["name"] == model_name:
            found[deployment.name] = match["version"]
    return found


def traffic(endpoint: Any) -> dict[str, int]:
    return {slot: int(share) for slot, share in (endpoint.traffic or {}).items()}


def live_slot(endpoint: Any) -> str:
    """The slot that takes the most traffic; one line when none takes any."""
    shares = {slot: share for slot, share in traffic(endpoint).items() if share > 0}
    if not shares:
        raise UserError(
            f"endpoint {endpoint.name} sends no traffic to any deployment: deploy a model "
            "(invoke deploy)"
        )
    return max(sorted(shares), key=lambda slot: shares[slot])


def studio_endpoint_url(workspace: Workspace, endpoint: str) -> str:
    """The endpoint's page in Azure ML Studio."""
    return f"https://ml.azure.com/endpoints/realtime/{endpoint}/detail?wsid={workspace.arm_id}"
