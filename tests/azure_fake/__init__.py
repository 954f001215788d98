"""An offline fake of the Azure endpoints that azure-ai-ml, azure-identity and azure-storage-blob
call.

The real SDK clients run unchanged: `FakeAzure.installed()` swaps `requests`' transport for a
router over in-memory services, so their serialization, upload and retry code is what is tested.

    with fake_azure(monkeypatch) as cloud:          # service-principal variables point at the fake
        ml_client = MLClient(DefaultAzureCredential(), SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE)
        ml_client.jobs.create_or_update(job)
        assert cloud.job(name)["properties"]["command"] == ...

Layout: http.py (Router, Request, Response), aad.py (tokens), arm.py (the workspace and its
resources), storage.py (blobs), run_history.py (discovery, job status and logs), pipelines.py
(pipeline jobs: child runs per step, a failing step, `cloud.pipeline_steps(name)`), online.py (online
endpoints: scoring URI, keys and the scoring host, answering with `cloud.online_scorer`), cloud.py
(state shared by all of them, fault injection with `cloud.fail(...)`, and the transport switch).

To extend it (for example online endpoints): most ARM resources need nothing, since arm.py keeps
any PUT under the workspace and serves it back on GET, lists collections and deletes. Behaviour
beyond storage gets a route in the module of its service, registered before the generic ones:

    @workspace_route("POST", r"/onlineEndpoints/(?P<name>[^/]+)/listKeys")
    def endpoint_keys(request): return Response(200, {"primaryKey": "...", ...})

A new host (a scoring URI, say) gets its own module with a `register(cloud)` function, called from
`FakeAzure.__init__`. Any request without a route fails the test with its method and URL, so run
the real client and add what it asks for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from azure_fake.cloud import (
    CLIENT_ID,
    CLIENT_SECRET,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    TENANT,
    WORKSPACE,
    FakeAzure,
)

__all__ = [
    "RESOURCE_GROUP",
    "SUBSCRIPTION",
    "WORKSPACE",
    "FakeAzure",
    "fake_azure",
]


@contextmanager
def fake_azure(monkeypatch: pytest.MonkeyPatch, home: str | None = None) -> Iterator[FakeAzure]:
    """A fresh fake cloud, service-principal variables for it, and no wait between polls."""
    from azure.ai.ml.operations._run_history_constants import RunHistoryConstants

    for name, value in {
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT_ID,
        "AZURE_CLIENT_SECRET": CLIENT_SECRET,
        "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
        "AZURE_RESOURCE_GROUP": RESOURCE_GROUP,
        "AZUREML_WORKSPACE_NAME": WORKSPACE,
    }.items():
        monkeypatch.setenv(name, value)
    if home:
        # Credential fallbacks (az CLI, token caches) must not read the real user's files.
        monkeypatch.setenv("HOME", home)
        monkeypatch.setenv("AZURE_CONFIG_DIR", f"{home}/.azure")
    # The SDK waits between status polls; the fake's jobs move on at every look.
    monkeypatch.setattr(RunHistoryConstants, "_WAIT_COMPLETION_POLLING_INTERVAL_MIN", 0)
    monkeypatch.setattr(RunHistoryConstants, "_WAIT_COMPLETION_POLLING_INTERVAL_MAX", 0)
    cloud = FakeAzure()
    with cloud.installed():
        yield cloud
    assert not cloud.unhandled, f"requests the fake could not answer: {cloud.unhandled}"
