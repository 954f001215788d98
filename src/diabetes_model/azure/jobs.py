"""`invoke train --remote` and `invoke sweep --remote`: the job spec resolved for this checkout,
submitted with azure-ai-ml, and followed to its end. `--dry-run` stops after writing the resolved
spec and contacts nothing."""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from diabetes_model import job_specs
from diabetes_model.azure import assets
from diabetes_model.azure.workspace import azure_errors, connect
from diabetes_model.console import Say
from diabetes_model.errors import UserError, first_line
from diabetes_model.gitinfo import GitInfo, git_info
from diabetes_model.project import Project

JOB_PUT = re.compile(r"/workspaces/[^/]+/jobs/[^/?]+(\?|$)")
FINISHED = {"Completed": 0, "Failed": 1, "Canceled": 1, "NotResponding": 1, "Paused": 1}
TRANSIENT = {408, 429, 500, 502, 503, 504}


# A job's or a pipeline's submission (azure/pipeline.py): what they share, such as `compute`.
AnySubmission = TypeVar("AnySubmission")


@dataclass(frozen=True)
class Submission:
    """One remote run: which spec, and what the flags change in it."""

    spec_path: Path
    # Values of the spec's literal inputs beyond the project's settings (hyperparameter flags).
    overrides: Mapping[str, Any] = field(default_factory=dict)
    # Flags added after the spec's command (the same ones a local run adds).
    extra_args: tuple[str, ...] = ()
    compute: str = ""
    job_name: str = ""


def resolve_spec(
    project: Project,
    submission: Submission,
    environment: str,
    data: str,
    git: GitInfo,
) -> dict[str, Any]:
    """The job spec with this checkout's environment, data, inputs, compute and provenance."""
    import copy

    spec_path = submission.spec_path
    spec = job_specs.load_spec(spec_path)
    resolved = copy.deepcopy(spec)
    runnable = resolved["trial"] if resolved.get("type") == "sweep" else resolved
    code = Path(str(runnable["code"]))
    runnable["code"] = str(code if code.is_absolute() else (spec_path.parent / code).resolve())
    runnable["environment"] = environment
    if submission.extra_args:
        runnable["command"] = f"{runnable['command'].strip()} {shlex.join(submission.extra_args)}"
    inputs = resolved.setdefault("inputs", {})
    inputs["data"] = {**inputs.get("data", {}), "path": data}
    values = {**job_specs.project_inputs(project.settings), **submission.overrides}
    job_specs.check_inputs(spec_path, inputs, values)
    inputs.update(values)
    resolved["experiment_name"] = project.settings.experiment_name
    if resolved.get("type") == "sweep":  # the task's metric: test_roc_auc for classification
        from diabetes_model.sweep import objective

        metric, goal = objective(project)
        resolved["objective"] = {"primary_metric": metric, "goal": goal}
    if submission.job_name:
        resolved["name"] = submission.job_name
    if submission.compute:
        resolved["compute"] = f"azureml:{submission.compute}"
    resolved["display_name"] = f"{spec.get('display_name', spec_path.stem)} {git.short}"
    resolved["tags"] = {
        **(spec.get("tags") or {}),
        "commit": git.commit,
        "branch": git.branch,
        "author": git.author,
    }
    return resolved


def write_spec(resolved: Mapping[str, Any], path: Path, spec_path: Path) -> Path:
    """Write the resolved spec whole, or not at all, and check that azure-ai-ml loads it; a
    failure names the spec to fix (`spec_path`), not the generated file."""
    import yaml
    from azure.ai.ml import load_job

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    schema = {"$schema": resolved["$schema"]}
    body = {k: v for k, v in resolved.items() if k != "$schema"}
    partial.write_text(
        yaml.safe_dump(schema, sort_keys=False) + yaml.safe_dump(body, sort_keys=False),
        encoding="utf-8",
    )
    try:
        load_job(source=partial)
    except Exception as error:
        partial.unlink()
        raise UserError(
            f"{spec_path.parent.name}/{spec_path.name} does not resolve to a job Azure ML loads "
            f"({first_line(error)}); fix it there"
        ) from None
    partial.replace(path)
    return path


def submit(
    project: Project,
    submission: Submission,
    *,
    dry_run: bool = False,
    stream: bool = False,
    say: Say = print,
    client_factory: Callable[..., Any] = connect,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Submit the job of `submission.spec_path` (train.yml or sweep.yml); returns the exit code."""
    submission = with_default_compute(submission, project.azure.compute)
    git = git_info(project.root)
    out = project.path(project.azure.output_dir) / f"{submission.spec_path.stem}-job.yml"
    if dry_run:
        resolved = resolve_spec(project, submission, *asset_references(project), git)
        write_spec(resolved, out, submission.spec_path)
        say(f"resolved job written to {project.shown(out)} (nothing was submitted)")
        return 0

    from azure.ai.ml import load_job

    workspace, client = job_client(project, client_factory)
    with azure_errors(workspace):
        environment, data = asset_references(project, client, say)
        resolved = resolve_spec(project, submission, environment, data, git)
        job = load_job(source=write_spec(resolved, out, submission.spec_path))
        say(snapshot_summary(resolved))
        created = client.jobs.create_or_update(job)
        say(f"submitted {created.type} job {created.name} to {created.compute}")
        say(f"Studio: {created.studio_url}")
        if not stream:
            return 0
        return wait(client, created.name, stream=True, say=say, sleep=sleep)


def with_default_compute(submission: AnySubmission, compute: str) -> AnySubmission:
    """The submission on its own compute, else on the settings' (empty: the spec's)."""
    import dataclasses

    return dataclasses.replace(submission, compute=submission.compute or compute)


def job_client(project: Project, client_factory: Callable[..., Any] = connect) -> tuple[Any, Any]:
    """The workspace, and a client to it whose job submissions carry the settings' e-mails."""
    azure = project.azure
    workspace = azure.workspace()
    hook = notification_hook(azure.notify_emails, azure.notify_on) if azure.notify_emails else None
    return workspace, client_factory(workspace, raw_request_hook=hook)


def asset_references(project: Project, client: Any = None, say: Say = print) -> tuple[str, str]:
    """The environment and data references a job names: made sure of in the workspace, or, with
    no client (a dry run), as they would be, from the specs and the local file alone."""
    specs = project.specs
    if client is None:
        _, environment = assets.environment_reference(specs.environment)
        _, data = assets.data_reference(specs.data, project.data_path)
        return environment, data
    environment = assets.ensure_environment(client, specs.environment, say=say)
    return environment, assets.ensure_data(client, specs.data, project.data_path, say=say)


def snapshot_summary(resolved: Mapping[str, Any]) -> str:
    """What the code snapshot holds, by the SDK's own ignore rules (.amlignore, else .gitignore)."""
    from azure.ai.ml._utils._asset_utils import get_directory_size, get_ignore_file

    runnable = resolved["trial"] if resolved.get("type") == "sweep" else resolved
    code = Path(runnable["code"])
    ignore = get_ignore_file(code)
    size, files = get_directory_size(code, ignore_file=ignore)
    rule = f"{Path(ignore.path).name} applied" if ignore.exists() else "no ignore file"
    return f"code snapshot: {code.name}/ ({len(files)} files, {assets.human_size(size)}; {rule})"


def wait(
    client: Any,
    name: str,
    *,
    stream: bool,
    say: Say = print,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = 6,
) -> int:
    """Follow a job to its end; the exit code is 0 only when it completed.

    The SDK retries each request (429 and 5xx, with backoff) and refreshes its token before it
    expires; this loop also survives a stream that still breaks on a transient error, by waiting
    and resuming it (the resumed stream prints the log again from its start).
    """
    from azure.ai.ml.exceptions import JobException
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    failures = 0
    while True:
        try:
            if stream:
                client.jobs.stream(name)
            job = client.jobs.get(name)
        except JobException:
            job = client.jobs.get(name)  # the stream raises when the job failed: report it below
        except (HttpResponseError, ServiceRequestError, ServiceResponseError) as error:
            status = getattr(error, "status_code", None)
            transient = status is None or status in TRANSIENT
            failures += 1
            if not transient or failures >= attempts:
                raise
            delay = min(2**failures, 60)
            say(f"lost the job's status ({status or first_line(error)}); retrying in {delay}s")
            sleep(delay)
            continue
        status = str(getattr(job.status, "value", job.status))
        if status in FINISHED:
            break
        sleep(30)
    if FINISHED[status]:
        raise UserError(f"job {name} ended {status}; its logs are in Studio: {job.studio_url}")
    say(f"job {name} completed")
    return 0


def notification_hook(emails: tuple[str, ...], events: tuple[str, ...]) -> Callable[[Any], None]:
    """E-mail when a job ends: the REST API's `notificationSetting`, which azure-ai-ml's job
    classes do not carry, added to the job's PUT on its way out (an azure-core request hook)."""
    from azure.core.rest import HttpRequest

    def hook(pipeline_request: Any) -> None:
        request = pipeline_request.http_request
        if request.method != "PUT" or not JOB_PUT.search(request.url):
            return
        body = json.loads(request.content)
        body["properties"]["notificationSetting"] = {
            "emailOn": list(events),
            "emails": list(emails),
        }
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        pipeline_request.http_request = HttpRequest("PUT", request.url, headers=headers, json=body)

    return hook
