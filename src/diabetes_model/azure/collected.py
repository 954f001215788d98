"""`invoke drift --remote`: the inputs the online endpoint's data collector stored for the live
deployment, against the training data of the champion, with the tests and report of the local
`invoke drift` (drift.py).

The collector (azureml-ai-monitoring, which score.py feeds) writes one JSON object per line to
`modelDataCollector/<endpoint>/<deployment>/model_inputs/YYYY/MM/DD/HH/<id>.jsonl` in the
workspace's blob store; each object's `data` is a list of row objects. The training data is the
data asset the champion's `data.asset` tag names. Both are read through the datastore's
credentials, or the login's when the datastore has none (identity-based access).
"""

from __future__ import annotations

import dataclasses
import json
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diabetes_model.azure import champion, endpoints
from diabetes_model.azure.workspace import azure_errors, connect
from diabetes_model.console import Say
from diabetes_model.errors import UserError
from diabetes_model.project import Project

COLLECTION = "model_inputs"
# Where a deployment's collector writes unless its spec names another data path (the SDK's
# default, azure.ai.ml.constants._deployment.DEFAULT_MDC_PATH).
DEFAULT_ROOT = "azureml://datastores/workspaceblobstore/paths/modelDataCollector"
DATASTORE_PATH = re.compile(r"datastores/(?P<store>[^/]+)/paths/(?P<path>.+)$")
DAY = 24 * 3600


@dataclass(frozen=True)
class Collected:
    """The live deployment's collected inputs, and the champion's training data."""

    rows: Any  # a DataFrame of the collected rows, oldest first
    source: str  # where they were read, for the report
    endpoint: str
    slot: str
    champion: str  # NAME:VERSION whose training data is the reference
    training_data: Path  # downloaded into the caller's folder


def read(
    client: Any, project: Project, endpoint_name: str, days: int, folder: Path, now: float
) -> Collected:
    """Find the live slot, read what its collector stored in the last `days` days, and fetch
    the champion's training data into `folder`."""
    if days < 1:
        raise UserError(f"--days {days} must be at least 1")
    endpoint = endpoints.get_endpoint(client, endpoint_name)
    slot = endpoints.live_slot(endpoint)
    name = project.settings.model_name
    version = champion.champion_version(client, name)
    version = version or endpoints.slot_versions(client, endpoint.name, name).get(slot)
    if version is None:
        raise UserError(f"no champion of {name} and no version of it on {endpoint.name}/{slot}")
    training = download_training_data(client, name, version, folder)
    location = collection_path(client, endpoint.name, slot)
    rows, files = read_rows(client, location, days, now)
    source = f"{location} ({files} files, last {days} days)"
    if not rows:
        raise UserError(
            f"no inputs collected for {endpoint.name}/{slot} in the last {days} days ({location}):"
            " send requests to the endpoint, or widen --days"
        )
    import pandas as pd

    frame = pd.DataFrame(rows)
    return Collected(frame, source, endpoint.name, slot, f"{name}:{version}", training)


def collection_path(client: Any, endpoint: str, slot: str) -> str:
    """The data path of the slot's model_inputs collection: the data asset its deployment
    registered for it, else the collector's default."""
    from azure.core.exceptions import ResourceNotFoundError

    deployment = client.online_deployments.get(name=slot, endpoint_name=endpoint)
    collections = getattr(deployment.data_collector, "collections", None) or {}
    reference = str(getattr(collections.get(COLLECTION), "data", None) or "")
    asset = re.search(r"/data/(?P<name>[^/]+)/versions/(?P<version>[^/]+)$", reference)
    if asset:
        try:
            return str(client.data.get(asset["name"], version=asset["version"]).path).rstrip("/")
        except ResourceNotFoundError:
            pass
    return f"{DEFAULT_ROOT}/{endpoint}/{slot}/{COLLECTION}"


def read_rows(client: Any, location: str, days: int, now: float) -> tuple[list[dict], int]:
    """The rows of every JSON-lines file under `location` written in the last `days` days
    (by its YYYY/MM/DD/HH folder, UTC), in time order; lines that cannot be read are skipped, as
    the local log's are."""
    container, prefix = container_and_prefix(client, location)
    since = time.strftime("%Y/%m/%d/%H", time.gmtime(now - days * DAY))
    rows, files = [], 0
    for day in range(days, -1, -1):
        folder = f"{prefix}/{time.strftime('%Y/%m/%d', time.gmtime(now - day * DAY))}/"
        names = sorted(b.name for b in container.list_blobs(name_starts_with=folder))
        for name in names:
            if name.endswith(".jsonl") and name[len(prefix) + 1 :][:13] >= since:
                files += 1
                rows += list(_rows(container.download_blob(name).readall()))
    return rows, files


def _rows(data: bytes) -> Iterator[dict]:
    for line in data.splitlines():
        try:
            record = json.loads(line)
        except ValueError:  # cut off, or not UTF-8
            continue
        batch = record.get("data") if isinstance(record, dict) else None
        if isinstance(batch, str):  # some collector versions write the rows as a JSON string
            try:
                batch = json.loads(batch)
            except ValueError:
                continue
        if isinstance(batch, list):
            yield from (row for row in batch if isinstance(row, dict))


def download_training_data(client: Any, name: str, version: str, folder: Path) -> Path:
    """The data asset that the version's `data.asset` tag names, as a local file."""
    tags = champion.version_tags(client, name, version)
    reference = tags.get("data.asset") or tags.get("data", "")
    asset = re.fullmatch(r"azureml:(?P<name>[^:@]+):(?P<version>[^:@]+)", reference)
    if not asset:
        raise UserError(
            f"{name}:{version} records no training data asset (its data.asset tag is "
            f"{reference or 'missing'}): deploy a version the pipeline registered"
        )
    path = str(client.data.get(asset["name"], version=asset["version"]).path)
    container, blob = container_and_prefix(client, path)
    target = folder / Path(blob).name
    target.write_bytes(container.download_blob(blob).readall())
    return target


def container_and_prefix(client: Any, location: str) -> tuple[Any, str]:
    """A blob container client and the path inside it, for `azureml://datastores/NAME/paths/P`."""
    from azure.storage.blob import ContainerClient

    found = DATASTORE_PATH.search(location)
    if not found:
        raise UserError(f"{location} is not a datastore path (azureml://datastores/NAME/paths/P)")
    store = client.datastores.get(found["store"], include_secrets=True)
    secret = getattr(store.credentials, "sas_token", None) or getattr(
        store.credentials, "account_key", None
    )
    if secret is None:  # identity-based datastore: the login's own token
        from diabetes_model.azure.workspace import credential

        secret = credential()
    url = f"{store.protocol or 'https'}://{store.account_name}.blob.{store.endpoint}"
    return ContainerClient(url, store.container_name, credential=secret), found["path"].rstrip("/")


def remote_drift(
    project: Project,
    options: Mapping[str, Any],
    days: int,
    environ: Mapping[str, str],
    say: Say = print,
    client_factory: Callable[..., Any] = connect,
    now: float | None = None,
) -> Any:
    """`invoke drift --remote`: read, compare and report as `invoke drift` does (`options`:
    run_drift's report_dir, min_rows, psi_threshold, alpha; and last); summary in CI."""
    from diabetes_model.azure.deploy import endpoint_name
    from diabetes_model.drift import run_drift, step_summary
    from diabetes_model.run_summary import append_step_summary

    workspace = project.azure.workspace()
    client = client_factory(workspace)
    try:
        with azure_errors(workspace), tempfile.TemporaryDirectory() as folder:
            collected = read(
                client, project, endpoint_name(project), days, Path(folder), now or time.time()
            )
            say(f"{len(collected.rows)} rows collected on {collected.endpoint}/{collected.slot}; "
                f"reference: the training data of {collected.champion}")  # fmt: skip
            settings = dataclasses.replace(project.settings, data_path=str(collected.training_data))
            last = options.get("last")
            run = run_drift(
                settings=settings,
                current=collected.rows.tail(last) if last else collected.rows,
                source=collected.source,
                reference_name=f"{collected.champion}'s training data",
                **{k: v for k, v in options.items() if k != "last"},
            )
    except UserError as error:  # the summary page says why nothing was judged
        append_step_summary(environ, f"### Input drift\n\n**Not judged:** {error}\n\n")
        raise
    link = endpoints.studio_endpoint_url(workspace, collected.endpoint)
    step_summary(run, environ, f"[endpoint {collected.endpoint} in Studio]({link})")
    return run
