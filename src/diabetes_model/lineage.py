"""Where a model came from: the data it saw and the code that trained it (the tags of a training
run), and the governance record of a registered version that `invoke lineage` prints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from diabetes_model.gitinfo import GitInfo, git_info
from diabetes_model.tables import file_sha256


@dataclass(frozen=True)
class Lineage:
    data_sha256: str
    data_rows: int
    git: GitInfo

    def as_tags(self) -> dict[str, str]:
        return {
            "data.sha256": self.data_sha256,
            "data.rows": str(self.data_rows),
            "git.commit": self.git.commit,
            "git.dirty": self.git.dirty_text,
        }


def collect_lineage(
    data_path: Path, rows: int, cwd: Path | None = None, sha256: str | None = None
) -> Lineage:
    """The lineage of a training on `data_path` (`sha256`: its hash, when already known)."""
    digest = sha256 or file_sha256(data_path)
    return Lineage(data_sha256=digest, data_rows=rows, git=git_info(cwd))


# The governance record of a registered version (governance.version_tags, and the deployment,
# champion and rollback tags `invoke deploy` adds in Azure ML), in the order `invoke lineage`
# prints it; other tags follow.
RECORD_ORDER = (
    "data.asset", "data.sha256", "data.rows", "data.train_sha256", "data.test_sha256",
    "git.commit", "git.message", "git.dirty", "triggered_by", "ci.run_url", "environment",
    "pipeline.run", "training.run", "evaluation.result", "evaluation.metric", "evaluation.score",
    "evaluation.champion", "evaluation.champion_score", "evaluation.tolerance",
    "evaluation.reason", "promoted_anyway", "deploy.endpoint", "deploy.slot", "deploy.traffic",
    "deploy.time", "deploy.trigger", "deploy.gate", "deploy.by", "deploy.run_url", "champion.time",
    "champion.previous", "rollback.from", "rollback.to", "rollback.time",
)  # fmt: skip


@dataclass(frozen=True)
class VersionRecord:
    """A registered version's tags, where it is registered, and whether it is the champion."""

    name: str
    version: str
    tags: dict[str, str]
    champion: bool
    registry: str  # e.g. "local MLflow registry"

    def describe(self) -> list[str]:
        mark = " (champion)" if self.champion else ""
        lines = [f"{self.name}:{self.version}{mark} in the {self.registry}"]
        known = [key for key in RECORD_ORDER if key in self.tags]
        others = sorted(key for key in self.tags if key not in RECORD_ORDER and key != "champion")
        width = max((len(key) for key in known + others), default=0)
        lines += [f"  {key:<{width}}  {self.tags[key]}" for key in known + others]
        if "evaluation.result" not in self.tags:
            lines.append("  (not registered by the pipeline: no evaluation on record)")
        return lines


def parse_model(text: str, default_name: str) -> tuple[str, str | None]:
    """NAME:VERSION (or NAME/VERSION, as `invoke serve --model` takes it), or NAME (its
    champion), or nothing (the champion of `default_name`)."""
    from diabetes_model.errors import UserError

    name, _, version = text.strip().replace("/", ":").partition(":")
    if version and not version.isdigit():
        raise UserError(
            f"'{text}' is not NAME:VERSION (a version is a number, e.g. diabetes-regressor:3)"
        )
    return name or default_name, version or None


def local_record(tracking_uri: str, text: str, default_name: str) -> VersionRecord:
    """`invoke lineage`: a version of the MLflow registry (default: the champion, alias)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from diabetes_model.champion import find_champion
    from diabetes_model.errors import UserError
    from diabetes_model.tracking import store_errors
    from diabetes_model.tracking_store import ensure_store, sqlite_path

    name, version = parse_model(text, default_name)
    database = sqlite_path(tracking_uri)
    if database is not None and not database.exists():  # not created just to be read
        raise UserError(f"no MLflow store at {database} yet: run `invoke pipeline` first")
    ensure_store(tracking_uri)
    client = MlflowClient(tracking_uri)
    with store_errors(tracking_uri):
        champion = find_champion(client, name, by_tag=False)
        if version is None and champion is None:
            raise UserError(
                f"model '{name}' has no champion in {tracking_uri}: run `invoke pipeline`, or "
                "name a version (invoke lineage --model NAME:VERSION)"
            )
        version = version or champion.version
        try:
            tags = client.get_model_version(name, version).tags
        except MlflowException:
            raise UserError(f"{name}:{version} is not registered in {tracking_uri}") from None
    is_champion = champion is not None and champion.version == version
    return VersionRecord(name, version, dict(tags), is_champion, "local MLflow registry")
