"""Remote jobs: the spec resolved for this checkout, submitted with azure-ai-ml, and followed
to its end. `--dry-run` stops after writing the resolved spec and contacts nothing."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diabetes_model.azure import assets, specs
from diabetes_model.azure.settings import AzureSettings
from diabetes_model.azure.workspace import azure_errors, connect, first_line
from diabetes_model.errors import UserError

Say = Callable[[str], None]
JOB_PUT = re.compile(r"/workspaces/[^/]+/jobs/[^/?]+(\?|$)")
FINISHED = {"Completed": 0, "Failed": 1, "Canceled": 1, "NotResponding": 1, "Paused": 1}
TRANSIENT = {408, 429, 500, 502, 503, 504}
NO_COMMIT = "uncommitted"  # the code is not in a git checkout


@dataclass(frozen=True)
class GitInfo:
    commit: str
    branch: str
    author: str

    @property
    def short(self) -> str:
        """Seven hex digits of a commit; the placeholder whole when there is no commit."""
        return self.commit if self.commit == NO_COMMIT else self.commit[:7]


@dataclass(frozen=True)
class Submission:
    """What one remote run needs from the project besides the specs."""

    root: Path
    data_file: Path
    # Values of the spec's literal inputs: the project's settings and the flags.
    inputs: Mapping[str, Any]
    # Flags added after the spec's command (the same ones a local run adds).
    extra_args: tuple[str, ...] = ()
    compute: str = ""
    job_name: str = ""

    @property
    def experiment(self) -> str:
        return str(self.inputs["experiment"])


def git_info(root: Path) -> GitInfo:
    """Commit, branch and author of the checkout, for the job's name and tags."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
            )
        except OSError:
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    return GitInfo(
        commit=git("rev-parse", "HEAD") or NO_COMMIT,
        branch=git("rev-parse", "--abbrev-ref", "HEAD") or "unknown",
        author=git("log", "-1", "--format=%an") or git("config", "user.name") or "unknown",
    )


def resolve_spec(
    spec: Mapping[str, Any],
    spec_path: Path,
    submission: Submission,
    environment: str,
    data: str,
    git: GitInfo,
) -> dict[str, Any]:
    """The job spec with this checkout's environment, data, inputs, compute and provenance."""
    import copy

    resolved = copy.deepcopy(dict(spec))
    runnable = resolved["trial"] if resolved.get("type") == "sweep" else resolved
    code = Path(str(runnable["code"]))
    runnable["code"] = str(code if code.is_absolute() else (spec_path.parent / code).resolve())
    runnable["environment"] = environment
    if submission.extra_args:
        runnable["command"] = f"{runnable['command'].strip()} {shlex.join(submission.extra_args)}"
    inputs = resolved.setdefault("inputs", {})
    inputs["data"] = {**inputs.get("data", {}), "path": data}
    unknown = specs.unknown_overrides(inputs, submission.inputs)
    if unknown:
        raise UserError(
            f"{spec_path.name} has no input(s) {', '.join(unknown)}; "
            f"its inputs are {', '.join(sorted(inputs))}"
        )
    inputs.update(submission.inputs)
    resolved["experiment_name"] = submission.experiment
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


def write_spec(resolved: Mapping[str, Any], path: Path) -> Path:
    """Write the resolved spec whole, or not at all, and check that azure-ai-ml loads it."""
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
            f"the resolved job does not load ({first_line(error)}); fix {path.name}"
        ) from None
    partial.replace(path)
    return path


def submit(
    spec_name: str,
    submission: Submission,
    azure: AzureSettings,
    *,
    dry_run: bool = False,
    stream: bool = False,
    say: Say = print,
    client_factory: Callable[..., Any] = connect,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Submit the job of `spec_name` (job_spec or sweep_spec); returns the exit code."""
    root = submission.root
    spec_path = azure.path(root, spec_name)
    spec = specs.load_spec(spec_path)
    git = git_info(root)
    out = azure.path(root, "output_dir") / f"{spec_path.stem}-job.yml"
    if dry_run:
        _, environment = assets.environment_reference(azure.path(root, "environment_spec"))
        _, data = assets.data_reference(azure.path(root, "data_spec"), submission.data_file)
        resolved = resolve_spec(spec, spec_path, submission, environment, data, git)
        write_spec(resolved, out)
        say(f"resolved job written to {out} (nothing was submitted)")
        return 0

    from azure.ai.ml import load_job

    workspace = azure.workspace()
    hook = notification_hook(azure.notify_emails, azure.notify_on) if azure.notify_emails else None
    client = client_factory(workspace, raw_request_hook=hook)
    with azure_errors(workspace):
        environment = assets.ensure_environment(
            client, azure.path(root, "environment_spec"), say=say
        )
        data = assets.ensure_data(
            client, azure.path(root, "data_spec"), submission.data_file, say=say
        )
        resolved = resolve_spec(spec, spec_path, submission, environment, data, git)
        job = load_job(source=write_spec(resolved, out))
        say(snapshot_summary(resolved))
        created = client.jobs.create_or_update(job)
        say(f"submitted {created.type} job {created.name} to {created.compute}")
        say(f"Studio: {created.studio_url}")
        if not stream:
            return 0
        return wait(client, created.name, stream=True, say=say, sleep=sleep)


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
