"""Which version `invoke deploy` ships: only one that passed the pipeline's gate.

- `--pipeline-job NAME` (the Deploy workflow after Train): the version that pipeline registered;
  when its gate kept the model out, nothing, with the gate's verdict.
- `--model-version N`: that version, named by a person (recorded as a manual deployment); one
  that the gate never passed is refused, unless `--skip-gate` (recorded too).
- neither: the newest version that passed the gate and is newer than the champion, and was never
  rolled back; nothing when there is none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from diabetes_model.azure import champion
from diabetes_model.errors import UserError

SKIPPED = "gate skipped (--skip-gate)"


@dataclass(frozen=True)
class Release:
    """The version to deploy, its tags, and why it may ship."""

    version: str
    tags: dict[str, str]
    trigger: str  # "gate": the gate chose it; "manual": a person named it (--model-version)
    verdict: str  # "passed", "promoted anyway", or SKIPPED

    def record(self, by: str, run_url: str) -> dict[str, str]:
        """The tags that say how the deployment came about, for the version's record."""
        tags = {"deploy.trigger": self.trigger, "deploy.gate": self.verdict, "deploy.by": by}
        if run_url:
            tags["deploy.run_url"] = run_url
        return {key: value for key, value in tags.items() if value}


@dataclass(frozen=True)
class Nothing:
    """Nothing to deploy, and why: said, summarized, and the endpoint left as it is."""

    reason: str


def choose(
    client: Any,
    name: str,
    current: str | None,
    *,
    model_version: str = "",
    pipeline_job: str = "",
    skip_gate: bool = False,
) -> Release | Nothing:
    """The release, or Nothing; `current` is the champion's version (None without one)."""
    if model_version:
        return named(client, name, model_version, skip_gate)
    if pipeline_job:
        return of_pipeline(client, name, pipeline_job, current)
    return newest_passed(client, name, current)


def named(client: Any, name: str, version: str, skip_gate: bool) -> Release:
    tags = champion.version_tags(client, name, version)
    verdict = champion.gate_verdict(tags)
    if verdict is None and not skip_gate:
        raise UserError(
            f"{name}:{version} did not pass the gate (the pipeline did not register it: no "
            "evaluation.result on it); deploy one that did (invoke lineage --remote --model "
            f"{name}:N), or add --skip-gate to deploy it anyway, recorded on it"
        )
    return Release(version, tags, "manual", verdict or SKIPPED)


def of_pipeline(client: Any, name: str, job: str, current: str | None) -> Release | Nothing:
    found = [m for m in versions(client, name) if (m.tags or {}).get("pipeline.run") == job]
    if not found:
        return Nothing(
            f"nothing deployed: pipeline {job} registered no version ({verdict(client, job)})"
        )
    model = max(found, key=lambda m: int(m.version))
    version, tags = str(model.version), dict(model.tags or {})
    passed = champion.gate_verdict(tags)
    if passed is None:
        raise UserError(f"{name}:{version} of pipeline {job} carries no passing evaluation")
    if version == current:
        return Nothing(
            f"nothing deployed: {name}:{version}, from pipeline {job}, is the champion already"
        )
    return Release(version, tags, "gate", passed)


def newest_passed(client: Any, name: str, current: str | None) -> Release | Nothing:
    waiting = [
        m
        for m in versions(client, name)
        if champion.gate_verdict(m.tags or {})
        and int(m.version) > int(current or 0)
        and "rollback.to" not in (m.tags or {})
    ]
    if not waiting:
        if current:
            return Nothing(
                f"nothing deployed: no version newer than the champion ({name}:{current}) passed "
                f"the gate; `invoke deploy --model-version {current}` deploys the champion again"
            )
        return Nothing(
            f"nothing deployed: no version of {name} passed the gate; run `invoke pipeline "
            "--remote`, or name one: `invoke deploy --model-version N --skip-gate`"
        )
    model = max(waiting, key=lambda m: int(m.version))
    tags = dict(model.tags or {})
    return Release(str(model.version), tags, "gate", champion.gate_verdict(tags) or "")


def verdict(client: Any, job: str) -> str:
    """What the gate of a pipeline job decided: its register step's gate.summary tag."""
    from azure.core.exceptions import ResourceNotFoundError

    from diabetes_model.azure.pipeline import step_outcomes

    try:
        client.jobs.get(job)
    except ResourceNotFoundError:
        raise UserError(
            f"no pipeline job {job} in the workspace: name the job `invoke pipeline --remote "
            "--job-name` submitted"
        ) from None
    summaries = [
        tags["gate.summary"]
        for _, _, tags in step_outcomes(client, job)
        if tags.get("gate.summary")
    ]
    return summaries[0] if summaries else "its register step recorded no verdict; see it in Studio"


def versions(client: Any, name: str) -> list[Any]:
    """Every registered version of `name`, tags included (none when there is no such model)."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return list(client.models.list(name=name))
    except ResourceNotFoundError:
        return []
