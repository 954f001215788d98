"""Pipeline step 4, register: act on evaluate's decision. It always runs, and registers the
candidate only when the decision passed it, or when `--promote-anyway true` overrides a failed one
(recorded on the version as `promoted_anyway`). A registered version carries the governance tags
(`governance.version_tags`, `evaluation.result` among them). In an MLflow registry it becomes the
champion at once (the alias, `champion.py`): there is no endpoint to deploy it to. In Azure ML the
champion is the version meant to serve, so the mark moves only when `invoke deploy` has deployed
it and its smoke request passed (`azure/champion.py`); here it is registered as a version that
passed the gate. A rejected candidate prints "not promoted", the losing metric and margin, and
the step still succeeds: keeping a worse model out is the pipeline doing its job.

    python -m diabetes_model.steps.register --model DIR --report DIR --split FILE --record DIR

registration.json in the record folder says what happened; in an Azure ML job the same verdict is
also set as tags of the step's own run, where `invoke pipeline --remote --stream` reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diabetes_model.core.columns import decode_name
from diabetes_model.errors import UserError
from diabetes_model.governance import Provenance, version_tags
from diabetes_model.settings import Settings
from diabetes_model.steps.common import StepParser, boolean, read_json, step_main, write_json

DEFAULTS = Settings()
RECORD_FILE = "registration.json"


@dataclass(frozen=True)
class RegisterConfig:
    model: Path
    report: Path  # evaluate's report folder (decision.json)
    split: Path  # prep's split.json
    record: Path
    model_name: str = DEFAULTS.model_name
    promote_anyway: bool = False
    # When a promoted version becomes the champion in Azure ML's registry: once `invoke deploy`
    # has deployed it ("deploy"), or at once ("registration": a project without an endpoint).
    champion_on: str = "deploy"

    @classmethod
    def from_argv(cls, argv: list[str]) -> RegisterConfig:
        parser = StepParser(prog="python -m diabetes_model.steps.register", description=__doc__)
        add = parser.add_argument
        add("--model", required=True, type=Path, help="the candidate's MLflow model folder")
        add("--report", required=True, type=Path, help="evaluate's report folder")
        add("--split", required=True, type=Path, help="prep's split.json")
        add("--record", required=True, type=Path, help="folder for registration.json")
        add("--model-name", default=DEFAULTS.model_name, type=decode_name, help="model (encoded)")
        add("--promote-anyway", type=boolean, default=False, help="true: override a failed gate")
        add(
            "--champion-on",
            choices=("deploy", "registration"),
            default="deploy",
            help="in Azure ML, when a promoted version becomes the champion",
        )
        args = parser.parse_args(argv)
        return cls(
            args.model,
            args.report,
            args.split,
            args.record,
            args.model_name,
            args.promote_anyway,
            args.champion_on,
        )


def register(
    config: RegisterConfig,
    tracking_uri: str,
    provenance: Provenance,
    own_run: str = "",
    by_tag: bool | None = None,
) -> dict[str, Any]:
    """Register and promote, or not; returns registration.json's content. `by_tag`: whether the
    registry is Azure ML's (default: told by the tracking URI)."""
    import mlflow
    from mlflow import MlflowClient

    from diabetes_model.champion import crown, find_champion, marks_with_tag
    from diabetes_model.steps.evaluate import DECISION_FILE, model_run_id
    from diabetes_model.tracking_store import ensure_store

    decision = read_json(config.report / DECISION_FILE, "the evaluate step")
    by_tag = marks_with_tag(tracking_uri) if by_tag is None else by_tag
    ensure_store(tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri)
    before = find_champion(client, config.model_name, by_tag)
    run_id = decision.get("candidate_run") or model_run_id(config.model)
    if not (before and before.run_id == run_id):  # else: promoted by an earlier run already
        _check_champion_unchanged(decision, before)
    if not by_tag:  # in Azure ML the report is the evaluate step's output already
        _attach_report(client, run_id, config.report, decision)
    promote = bool(decision["promote"]) or config.promote_anyway
    record: dict[str, Any] = {
        "model_name": config.model_name,
        "promoted": promote,
        "promoted_anyway": promote and not decision["promote"],
        "champion_before": before.version if before else None,
        "version": None,
        # Locally the promoted version is the champion now; in Azure ML, once deployed (unless
        # the project has no endpoint to deploy it to).
        "champion": promote and (not by_tag or config.champion_on == "registration"),
        "reason": decision["reason"],
    }
    if promote:
        split = read_json(config.split, "the prep step")
        tags = version_tags(provenance, split, decision, run_id, record["promoted_anyway"])
        record["version"] = _register(client, config.model_name, run_id, tags)
        if record["champion"]:
            crown(client, config.model_name, record["version"], by_tag)
    record["summary"] = summary(record)
    write_json(config.record / RECORD_FILE, record)
    if own_run:  # an Azure ML job: its run's tags are what the submitting task can read
        _tag_own_run(client, own_run, record, decision)
    return record


def _tag_own_run(
    client: Any, run_id: str, record: Mapping[str, Any], decision: Mapping[str, Any]
) -> None:
    """The verdict and the metrics, where `invoke pipeline --remote --stream` reads them."""
    client.set_tag(run_id, "gate.summary", record["summary"][:5000])
    client.set_tag(run_id, "gate.promoted", str(record["promoted"]).lower())
    client.set_tag(run_id, "gate.metrics", metrics_tag(decision))


def _check_champion_unchanged(decision: Mapping[str, Any], current: Any) -> None:
    judged = decision.get("champion_version")
    now = current.version if current else None
    if judged != now:
        raise UserError(
            f"the champion changed since the evaluation (version {judged} then, {now} now); "
            "run the pipeline again so the candidate is judged against the current one"
        )


def _attach_report(client: Any, run_id: str, report: Path, decision: Mapping[str, Any]) -> None:
    """The evaluation, on the candidate's training run: its report as artifacts, its verdict as
    tags, so the MLflow UI shows why a run was or was not promoted."""
    if not run_id:
        return
    client.log_artifacts(run_id, str(report), "evaluation")
    client.set_tag(run_id, "gate.result", "passed" if decision["promote"] else "failed")
    client.set_tag(run_id, "gate.reason", str(decision["reason"])[:5000])


def _register(client: Any, name: str, run_id: str, tags: Mapping[str, str]) -> str:
    """The candidate as a version (once per training run) with its tags."""
    import mlflow

    from diabetes_model.champion import version_of_run
    from diabetes_model.tracking import MODEL_ARTIFACT_PATH

    if not run_id:
        raise UserError("the candidate's MLflow model names no run; retrain it with the pipeline")
    version = version_of_run(client, name, run_id)
    if version is None:
        uri = f"runs:/{run_id}/{MODEL_ARTIFACT_PATH}"
        version = str(mlflow.register_model(uri, name, tags=dict(tags)).version)
    else:  # evaluated again after a change of champion: the same training, the same version
        for key, value in tags.items():
            client.set_model_version_tag(name, version, key, value)
    return version


def metrics_tag(decision: Mapping[str, Any]) -> str:
    """The test metrics of candidate and champion as compact JSON (a tag holds 5000 characters):
    the table of the run summary (run_summary.decision_metrics reads it)."""
    import json

    def rounded(metrics: Mapping[str, float] | None) -> dict[str, float] | None:
        return None if metrics is None else {k: float(f"{v:.6g}") for k, v in metrics.items()}

    metrics = decision.get("metrics") or {}
    compact = {
        "metric": decision["metric"],
        "champion_version": decision.get("champion_version"),
        "metrics": {side: rounded(metrics.get(side)) for side in ("candidate", "champion")},
    }
    return json.dumps(compact, separators=(",", ":"))[:5000]


def summary(record: Mapping[str, Any]) -> str:
    """One line for the run summary: promoted (or promoted anyway) and why, or not promoted."""
    name, before = record["model_name"], record["champion_before"]
    if not record["promoted"]:
        stays = f"the champion stays version {before}" if before else "there is no champion"
        return f"not promoted: {record['reason']}; {stays}"
    if record.get("champion", True):
        crowned = f"{name} version {record['version']} is the champion"
    else:
        crowned = (
            f"{name} version {record['version']} passed the gate; it becomes the champion when "
            "a deployment of it passes its smoke request (invoke deploy)"
        )
    if record["promoted_anyway"]:
        return f"promoted anyway (--promote-anyway): {crowned}, although {record['reason']}"
    return f"promoted: {crowned} ({record['reason']})"


def run(argv: list[str], tracking_uri: str, environ: Mapping[str, str]) -> int:
    config = RegisterConfig.from_argv(argv)
    # Azure ML sets MLFLOW_RUN_ID in a job: the step's own run. `invoke pipeline` does not.
    own_run = environ.get("MLFLOW_RUN_ID", "")
    print(register(config, tracking_uri, Provenance.from_environ(environ), own_run)["summary"])
    return 0


def main(argv: list[str] | None = None) -> int:
    return step_main(run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
