"""`invoke deploy`: put the registered model on an Azure ML managed online endpoint, blue/green.

1. choose the version (azure/release.py: only one that passed the pipeline's gate; the one a
   pipeline job registered with --pipeline-job, a named one with --model-version) and resolve the
   content-hashed environment (azureml/environment.yml, shared with training); nothing to deploy
   ends here, said in one line and in the job summary;
2. create the endpoint (azureml/endpoint.yml) if it is not there;
3. deploy to the idle slot (azureml/deployment-blue.yml or -green.yml) with no traffic yet;
4. send it a smoke request straight to that deployment; on failure traffic and the champion
   stay where they were;
5. move traffic (--traffic percent to the new slot, the rest to the other), record the deployment
   on the model version (tags deploy.*: `invoke lineage` shows them), make it the champion
   (azure/champion.py) and with --monitor create or update the drift monitor (azureml/monitor.yml).

--rollback (azure/rollback.py) moves traffic back to the previous champion's slot instead.
--dry-run resolves and writes the specs under outputs/azureml/deploy/ and contacts nothing.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diabetes_model.azure import assets, champion, monitor, release, rollout
from diabetes_model.azure.deploy_report import Report
from diabetes_model.azure.workspace import azure_errors, connect
from diabetes_model.console import Say
from diabetes_model.errors import UserError, first_line
from diabetes_model.job_specs import load_spec
from diabetes_model.project import Project

if TYPE_CHECKING:
    from diabetes_model.serving.answer import Answer

SMOKE_ROWS = 3


@dataclass(frozen=True)
class Request:
    """What to deploy and how: everything the task's flags decide."""

    model_version: str = ""
    slot: str = ""
    traffic: int = 100
    monitor: bool = False
    pipeline_job: str = ""  # deploy the version this pipeline job registered
    skip_gate: bool = False  # deploy a named version the gate never passed
    rollback: bool = False  # move traffic back to the previous champion instead

    def check(self) -> None:
        """Flags that contradict each other are refused before anything is contacted."""
        if self.slot:
            rollout.check_slot(self.slot)
        rollout.new_traffic("blue", self.traffic, ())  # validates the percentage up front
        if self.model_version and self.pipeline_job:
            raise UserError("--model-version and --pipeline-job each name a version: give one")
        if self.skip_gate and not self.model_version:
            raise UserError("--skip-gate goes with --model-version N: name the version to deploy")
        others = self.model_version or self.pipeline_job or self.slot or self.skip_gate
        if self.rollback and (others or self.monitor or self.traffic != 100):
            raise UserError("--rollback takes no other flag: it restores the previous champion")


def smoke_rows(project: Project) -> Any:
    """A few feature rows to score: from the training data, else scikit-learn's diabetes data
    (CI deploys without a data/ folder)."""
    from diabetes_model.tables import load_features

    settings = project.settings
    if project.data_path.is_file():
        return load_features(settings)[0].head(SMOKE_ROWS)
    from sklearn.datasets import load_diabetes

    bundled = load_diabetes(as_frame=True, scaled=False).frame
    features = list(settings.features)
    if not features or any(f not in bundled.columns for f in features):
        raise UserError(
            f"{project.data_path} not found: run `invoke data` so the smoke request has rows"
        )
    return bundled[features].head(SMOKE_ROWS).astype("float64")


def deploy(
    project: Project,
    request: Request,
    *,
    environ: Mapping[str, str] | None = None,
    dry_run: bool = False,
    say: Say = print,
    client_factory: Callable[..., Any] = connect,
) -> dict[str, int]:
    """Deploy, smoke-test, shift traffic and crown; returns the endpoint's traffic afterwards
    (empty when nothing was deployed). `environ`: who deploys, and the job summary in CI."""
    from diabetes_model.azure.deploy_plan import write_plan

    request.check()
    emails = monitor.alert_emails(project.azure) if request.monitor else ()
    if dry_run and request.rollback:
        raise UserError(
            "--rollback creates nothing to show: `invoke lineage --remote` names the champion "
            "and the version it replaced (champion.previous), which a rollback restores"
        )
    if dry_run:
        return write_plan(project, request, say)
    report = Report(project, dict(environ or {}), say)
    if request.rollback:
        from diabetes_model.azure.rollback import roll_back

        return roll_back(project, report, client_factory)
    if request.monitor:
        monitor.reference_csv(project.data_path)  # before anything is deployed
    rows = smoke_rows(project)
    workspace = project.azure.workspace()
    client = client_factory(workspace)
    try:
        with azure_errors(workspace):
            return _roll_out(client, project, request, rows, emails, report)
    except UserError as error:
        report.failed(str(error))
        raise


def _roll_out(
    client: Any,
    project: Project,
    request: Request,
    rows: Any,
    emails: Sequence[str],
    report: Report,
) -> dict[str, int]:
    say, model_name = report.say, project.settings.model_name
    previous = champion.champion_version(client, model_name)
    chosen = release.choose(
        client, model_name, previous, model_version=request.model_version,
        pipeline_job=request.pipeline_job, skip_gate=request.skip_gate,
    )  # fmt: skip
    if isinstance(chosen, release.Nothing):
        report.nothing(chosen.reason)
        return {}
    model = chosen.version
    report.chosen(model_name, chosen, previous)
    environment = assets.ensure_environment(client, project.specs.environment, say)
    endpoint = _ensure_endpoint(client, project, endpoint_name(project))
    deployments = {d.name for d in client.online_deployments.list(endpoint_name=endpoint.name)}
    current = {k: int(v) for k, v in (endpoint.traffic or {}).items()}
    slot = request.slot or rollout.idle_slot(current, deployments)
    say(f"endpoint {endpoint.name}: {rollout.describe_traffic(current)}")
    say(f"deploying {model_name}:{model} to {slot} (this takes several minutes)")
    deployment = deployment_entity(project, slot, endpoint.name, f"azureml:{model_name}:{model}")
    deployment.environment = environment
    _create_deployment(client, deployment)
    predictions = smoke_test(client, endpoint.name, slot, rows).predictions
    report.step(
        f"smoke request to {slot}", f"{len(predictions)} predictions ({_preview(predictions)})"
    )
    traffic = rollout.new_traffic(slot, request.traffic, deployments | {slot})
    endpoint.traffic = traffic
    client.online_endpoints.begin_create_or_update(endpoint).result()
    report.step("traffic now", rollout.describe_traffic(traffic))
    _record(client, model_name, chosen, previous, endpoint.name, slot, traffic[slot], report)
    say(f"scoring URI: {endpoint.scoring_uri}")
    if request.monitor:
        monitor.apply_monitor(client, project, endpoint.name, slot, emails, say)
    report.link_endpoint(endpoint.name)
    report.summarize(
        f"Deploy {model_name}:{model}",
        f"deployed {model_name}:{model} to {endpoint.name}/{slot}: "
        f"{rollout.describe_traffic(traffic)}",
    )
    return traffic


def _record(
    client: Any,
    name: str,
    chosen: release.Release,
    previous: str | None,
    endpoint: str,
    slot: str,
    share: int,
    report: Report,
) -> None:
    """The deployment on the version's record; and, once it takes traffic, the champion mark
    (champion.previous names the version a rollback returns to)."""
    model = chosen.version
    record = champion.deployment_record(endpoint, slot, share) | chosen.record(*report.who())
    report.say(f"recorded on {name}:{model}: {endpoint}/{slot}, {share}% of traffic")
    if share == 0:  # a dark launch: deployed and tested, but not what serves
        champion.add_tags(client, name, model, record)
        report.step("champion", f"unchanged ({name}:{model} takes no traffic)")
        return
    if previous and previous != model:
        record |= {"champion.previous": previous}
    champion.crown(client, name, model, record | {"champion.time": record["deploy.time"]}, previous)
    report.step("champion", f"{name}:{model}" + (f" (was version {previous})" if previous else ""))


def _create_deployment(client: Any, deployment: Any) -> None:
    """Create or update the slot; a failure names the logs to read (init() errors land there)."""
    from azure.core.exceptions import HttpResponseError

    try:
        client.online_deployments.begin_create_or_update(deployment).result()
    except HttpResponseError as error:
        if error.status_code in (401, 403):
            raise  # credentials: azure_errors says what to do
        raise UserError(
            f"deployment {deployment.name} did not start ({first_line(error)}); traffic is "
            f"unchanged. Its logs: {_logs_command(deployment.endpoint_name, deployment.name)}"
        ) from None


def _logs_command(endpoint_name: str, slot: str) -> str:
    return f"az ml online-deployment get-logs --endpoint-name {endpoint_name} --name {slot}"


def smoke_test(client: Any, endpoint_name: str, slot: str, rows: Any) -> Answer:
    """Score a few rows on the new deployment alone (before it has traffic); refuse a bad answer:
    a wrong number of predictions, numbers that are not finite, or a classifier's probabilities
    that are not one per class summing to 1 (serving/answer.py)."""
    from azure.core.exceptions import HttpResponseError

    from diabetes_model.serving.answer import MalformedAnswer, read_answer
    from diabetes_model.serving.contract import example_request

    logs = _logs_command(endpoint_name, slot)
    with tempfile.TemporaryDirectory() as folder:
        body = Path(folder) / "smoke.json"
        body.write_text(json.dumps(example_request(rows)), encoding="utf-8")
        try:
            answer = client.online_endpoints.invoke(
                endpoint_name=endpoint_name, deployment_name=slot, request_file=str(body)
            )
        except HttpResponseError as error:
            raise UserError(
                f"deployment {slot} failed its smoke request ({error.status_code}); traffic is "
                f"unchanged. Its logs: {logs}"
            ) from None
    try:
        return read_answer(_payload(answer), rows=len(rows))
    except MalformedAnswer as problem:
        raise UserError(
            f"deployment {slot} answered the smoke request with {str(answer)[:200]!r} "
            f"({problem}); traffic is unchanged. Its logs: {logs}"
        ) from None


def _payload(answer: Any) -> Any:
    payload = answer
    for _ in range(2):  # invoke() returns the body text; a JSON string may hold JSON again
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except ValueError:
                return None
    return payload


def endpoint_name(project: Project) -> str:
    """The configured name, else the spec's name plus a hash of the workspace's ARM id."""
    if project.deploy.endpoint_name:
        return rollout.check_endpoint_name(project.deploy.endpoint_name)
    base = str(load_spec(project.specs.endpoint)["name"])
    return rollout.endpoint_name(base, project.azure.workspace().arm_id)


def _ensure_endpoint(client: Any, project: Project, name: str) -> Any:
    from azure.ai.ml import load_online_endpoint
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return client.online_endpoints.get(name)
    except ResourceNotFoundError:
        endpoint = load_online_endpoint(project.specs.endpoint, params_override=[{"name": name}])
        return client.online_endpoints.begin_create_or_update(endpoint).result()


def deployment_entity(project: Project, slot: str, endpoint: str, model: str) -> Any:
    """The slot's deployment spec for this endpoint and model reference."""
    from azure.ai.ml import load_online_deployment

    return load_online_deployment(
        project.specs.deployment(rollout.check_slot(slot)),
        params_override=[{"endpoint_name": endpoint}, {"model": model}],
    )


def _preview(predictions: Sequence[Any]) -> str:
    from diabetes_model.serving.answer import label_text

    return ", ".join(f"{p:.1f}" if isinstance(p, float) else label_text(p) for p in predictions[:3])
