"""Governance: who published a model version, from what, why, and how it was judged. These are
the tags every version the pipeline registers carries, locally and in Azure ML.

An Azure ML job runs from a code snapshot without .git and does not know who submitted it, so the
provenance is collected where the pipeline is started (`Provenance.collect`: git, the CI run) and
handed to the steps as environment variables (`as_environ`); a step reads them once
(`from_environ`). Locally `invoke pipeline` hands the same variables to its steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from diabetes_model.gitinfo import GitInfo

PREFIX = "DIABETES_MODEL_"


@dataclass(frozen=True)
class Provenance:
    """Where a pipeline run comes from. Empty strings: not known."""

    commit: str = ""
    # The commit's subject line: why the code changed.
    commit_message: str = ""
    # Whether the checkout had uncommitted changes (true/false/unknown).
    dirty: str = ""
    # The git author locally; the GitHub actor in CI.
    triggered_by: str = ""
    # The GitHub Actions run that started it (CI only).
    ci_run_url: str = ""
    # The environment the steps run in: diabetes-model-env:<content hash>.
    environment: str = ""
    # The data asset (azureml:diabetes-model-data:<hash>) or, locally, the file.
    data_asset: str = ""
    # The pipeline run: the Azure ML pipeline job's name, or a local run id.
    pipeline_run: str = ""

    @classmethod
    def collect(cls, git: GitInfo, environ: Mapping[str, str], **known: str) -> Provenance:
        """From the checkout and, in GitHub Actions, the workflow run; `known` adds the
        environment, data asset and pipeline run the caller resolved."""
        actor = environ.get("GITHUB_ACTOR", "")
        server, repository, run = (
            environ.get(name, "")
            for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
        )
        run_url = (
            f"{server}/{repository}/actions/runs/{run}" if server and repository and run else ""
        )
        return cls(
            commit=git.commit,
            commit_message=git.message,
            dirty=git.dirty_text,
            triggered_by=actor or git.author,
            ci_run_url=run_url,
            **known,
        )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Provenance:
        return cls(**{f.name: environ.get(PREFIX + f.name.upper(), "") for f in fields(cls)})

    def as_environ(self) -> dict[str, str]:
        return {PREFIX + name.upper(): value for name, value in asdict(self).items() if value}


def version_tags(
    provenance: Provenance,
    split: Mapping[str, Any],
    decision: Mapping[str, Any],
    training_run: str,
    promoted_anyway: bool,
) -> dict[str, str]:
    """The tags of a registered version: data, code, who, environment, what made it, and the
    evaluation with the champion it was compared with (`split`: prep's split.json; `decision`:
    evaluate's decision.json)."""
    champion = decision.get("champion_version")
    tags = {
        "data.sha256": split["source"]["sha256"],
        "data.rows": str(split["source"]["rows"]),
        "data.asset": provenance.data_asset or split["source"]["name"],
        "data.train_sha256": split["train"]["sha256"],
        "data.test_sha256": split["test"]["sha256"],
        "git.commit": provenance.commit or "unknown",
        "git.message": provenance.commit_message,
        "git.dirty": provenance.dirty,
        "triggered_by": provenance.triggered_by or "unknown",
        "ci.run_url": provenance.ci_run_url,
        "environment": provenance.environment,
        "pipeline.run": provenance.pipeline_run,
        "training.run": training_run,
        "evaluation.result": "passed" if decision["promote"] else "failed",
        "evaluation.metric": decision["metric"],
        "evaluation.score": _number(decision["candidate"]),
        "evaluation.champion": f"version {champion}" if champion else "none",
        "evaluation.champion_score": _number(decision.get("champion")),
        "evaluation.tolerance": _number(decision["tolerance"]),
        "evaluation.reason": decision["reason"],
    }
    if promoted_anyway:
        tags["promoted_anyway"] = "true"
    # MLflow limits a tag's value to 5000 characters; empty values say nothing.
    return {key: value[:5000] for key, value in tags.items() if value}


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"
