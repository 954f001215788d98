"""`invoke pipeline --remote`: azureml/pipeline.yml resolved for this checkout, submitted with
azure-ai-ml, and followed to its end, with the exit codes, Studio link and written YAML of
`invoke train --remote` (azure/jobs.py, whose pieces it reuses).

Resolving inlines each step's component (its `code` made absolute, its environment the
content-hashed one), so the written outputs/azureml/pipeline-job.yml stands alone for
`az ml job create --file`. The data input is the data asset, the flags are pipeline inputs, and the
provenance (git, the CI run, environment, data asset, the pipeline's own name) goes to the steps as
environment variables: a job's snapshot has no .git. After `--stream`, the steps' outcomes and the
gate's verdict (tags the register step set on its run) are printed and, in GitHub Actions, added to
the job summary.
"""

from __future__ import annotations

import copy
import shlex
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diabetes_model.azure import jobs
from diabetes_model.azure.workspace import azure_errors, connect
from diabetes_model.console import Say
from diabetes_model.errors import UserError
from diabetes_model.gitinfo import GitInfo, git_info
from diabetes_model.governance import Provenance
from diabetes_model.project import Project

TRAINING_MODULE = "diabetes_model.train"


@dataclass(frozen=True)
class PipelineSubmission:
    """What the flags change: pipeline inputs, the train step's extra arguments, and how."""

    overrides: Mapping[str, Any] = field(default_factory=dict)
    train_args: tuple[str, ...] = ()
    force: bool = False  # Azure ML's force_rerun: no step reused from an earlier pipeline
    promote_anyway: bool = False
    compute: str = ""
    job_name: str = ""


def resolve_pipeline(
    project: Project,
    submission: PipelineSubmission,
    references: Mapping[str, str],
    git: GitInfo,
    provenance: Provenance,
) -> dict[str, Any]:
    """The pipeline spec with this checkout's components, environment, data, inputs, compute,
    name and provenance (`references`: environment, data and the pipeline's name)."""
    from diabetes_model.job_specs import check_inputs, project_inputs
    from diabetes_model.pipeline_specs import load_pipeline

    spec = load_pipeline(project.specs.pipeline)
    resolved = copy.deepcopy(spec.spec)
    for step in spec.steps:
        node = resolved["jobs"][step.name]
        node["component"] = _inlined(step, references["environment"], submission.train_args)
        node["environment_variables"] = provenance.as_environ()
    values = {
        **project_inputs(project.settings),
        **submission.overrides,
        "tolerance": project.pipeline.tolerance,
        "promote_anyway": submission.promote_anyway,
    }
    check_inputs(spec.path, spec.inputs, values)
    resolved["inputs"].update(values)
    resolved["inputs"]["data"] = {**resolved["inputs"]["data"], "path": references["data"]}
    resolved["name"] = references["name"]
    resolved["experiment_name"] = project.settings.experiment_name
    resolved["display_name"] = f"{spec.spec.get('display_name', 'pipeline')} {git.short}"
    resolved["tags"] = {"commit": git.commit, "branch": git.branch, "author": git.author}
    settings = resolved.setdefault("settings", {})
    if submission.compute:
        settings["default_compute"] = f"azureml:{submission.compute}"
    if submission.force:
        settings["force_rerun"] = True
    return resolved


def _inlined(step: Any, environment: str, train_args: tuple[str, ...]) -> dict[str, Any]:
    component = {k: v for k, v in copy.deepcopy(step.component).items() if k != "$schema"}
    component["code"] = str((step.component_path.parent / str(component["code"])).resolve())
    component["environment"] = environment
    if step.module == TRAINING_MODULE and train_args:
        component["command"] = f"{step.command} {shlex.join(train_args)}"
    return component


def pipeline_name(project: Project, submission: PipelineSubmission) -> str:
    """--job-name, else one made here: the steps record it, so it is known before submitting."""
    if submission.job_name:
        return submission.job_name
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"{project.settings.model_name}-pipeline-{stamp}-{uuid.uuid4().hex[:6]}"


def submit_pipeline(
    project: Project,
    submission: PipelineSubmission,
    environ: Mapping[str, str],
    *,
    dry_run: bool = False,
    stream: bool = False,
    say: Say = print,
    client_factory: Callable[..., Any] = connect,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Submit the pipeline; with `stream`, follow it and report its steps. The exit code."""
    submission = jobs.with_default_compute(submission, project.azure.compute)
    out = project.path(project.azure.output_dir) / "pipeline-job.yml"
    name = pipeline_name(project, submission)
    if dry_run:
        environment, data = jobs.asset_references(project)
        references = {"environment": environment, "data": data, "name": name}
        _write(project, submission, environ, references, out)
        say(f"resolved pipeline written to {project.shown(out)} (nothing was submitted)")
        return 0
    from azure.ai.ml import load_job

    workspace, client = jobs.job_client(project, client_factory)
    with azure_errors(workspace):
        environment, data = jobs.asset_references(project, client, say)
        references = {"environment": environment, "data": data, "name": name}
        resolved = _write(project, submission, environ, references, out)
        say(jobs.snapshot_summary(next(iter(resolved["jobs"].values()))["component"]))
        created = client.jobs.create_or_update(load_job(source=out))
        say(f"submitted pipeline job {created.name} ({len(resolved['jobs'])} steps)")
        say(f"Studio: {created.studio_url}")
        if not stream:
            return 0
        return follow(client, created.name, environ, say=say, sleep=sleep)


def _write(
    project: Project,
    submission: PipelineSubmission,
    environ: Mapping[str, str],
    references: Mapping[str, str],
    out: Path,
) -> dict[str, Any]:
    git = git_info(project.root)
    provenance = Provenance.collect(
        git,
        environ,
        environment=references["environment"].removeprefix("azureml:"),
        data_asset=references["data"],
        pipeline_run=references["name"],
    )
    resolved = resolve_pipeline(project, submission, references, git, provenance)
    jobs.write_spec(resolved, out, project.specs.pipeline)
    return resolved


def follow(
    client: Any,
    name: str,
    environ: Mapping[str, str],
    say: Say = print,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Stream the pipeline to its end, then say how each step ended and what the gate decided;
    a failed pipeline names its failed step."""
    from azure.core.exceptions import AzureError

    from diabetes_model.run_summary import append_step_summary, markdown

    try:
        jobs.wait(client, name, stream=True, say=say, sleep=sleep)
    except UserError as error:
        try:
            outcomes = step_outcomes(client, name)
        except AzureError:  # the job's own error says enough without its steps
            outcomes = []
        failed = [step for step, status, _ in outcomes if status == "Failed"]
        where = f" (failed step: {', '.join(failed)})" if failed else ""
        raise UserError(f"{error}{where}") from None
    outcomes = step_outcomes(client, name)
    gate = next((tags for _, _, tags in outcomes if tags.get("gate.summary")), {})
    verdict = gate.get("gate.summary", "")
    for step, status, _ in outcomes:
        say(f"{step}: {status}")
    say(verdict or "no verdict: the register step set no gate.summary tag; see its log in Studio")
    steps = [(step, status) for step, status, _ in outcomes]
    link = f"[pipeline {name} in Studio]({client.jobs.get(name).studio_url})"
    table = gate_metrics(gate)
    append_step_summary(environ, markdown(f"Pipeline {name}", steps, verdict, link, table))
    return 0


def step_outcomes(client: Any, name: str) -> list[tuple[str, str, dict[str, str]]]:
    """(step, status, tags of its run) of each step of the pipeline, from its child runs; the
    register step's carry the gate's verdict (gate.summary, gate.metrics)."""
    children = client.jobs.list(parent_job_name=name)
    return [
        (child.display_name or child.name, str(child.status), dict(child.tags or {}))
        for child in children
        if child is not None
    ]


def gate_metrics(tags: Mapping[str, str]) -> list[str]:
    """The metrics table from the register step's gate.metrics tag (none if unreadable)."""
    import json

    from diabetes_model.run_summary import decision_metrics

    try:
        return decision_metrics(json.loads(tags["gate.metrics"]))
    except (KeyError, ValueError, TypeError, AttributeError):
        return []
