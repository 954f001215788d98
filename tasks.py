"""Project tasks: `invoke --list` shows them, `invoke --help TASK` explains every flag.

Each task's first line starts with its group, as in the README:
  local      data, train, pipeline, sweep, lineage, ui, notebooks: the loop on this machine, no
             Azure needed
  azure      azure-setup, compute, register, deploy, and `--remote` on data, train, pipeline, sweep, lineage
             and drift
  serving    serve, predict, drift: a registered model answering requests, and its inputs watched
  workspace  doctor, login, github-secrets, test, lint: this checkout, its tools and its CI

Only invoke and the standard library are imported here, so listing tasks stays instant; each task
imports what it needs and hands the work to the `diabetes_model` module named like it.
"""

from __future__ import annotations

import functools
import gc
import inspect
import os
import shlex
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import invoke
from invoke import Context, Exit, Task
from invoke.exceptions import ParseError

ROOT = Path(__file__).resolve().parent


class _FlagKind(type):
    """The type of a number flag. invoke casts a flag's value with its `kind` and crashes with a
    traceback when the cast fails, and its --help writes INT only for a kind equal to `int`: this
    kind refuses a bad value with one line (a ParseError) and compares equal to the type it
    converts to."""

    def __call__(cls, value: str) -> Any:
        try:
            return cls.convert(value)
        except ValueError:
            raise ParseError(f"error: --{cls.flag} {value!r} is not {cls.meaning}") from None

    def __eq__(cls, other: object) -> bool:
        return other is cls.convert or type.__eq__(cls, other)

    def __hash__(cls) -> int:
        return hash(cls.convert)


def _flag_kind(convert: type, flag: str) -> type:
    meaning = "a whole number" if convert is int else "a number"
    return _FlagKind(
        f"{convert.__name__}_flag", (), {"convert": convert, "flag": flag, "meaning": meaning}
    )


class ProjectTask(Task):
    """A task whose number flags take their type from the annotation or the default
    (`max_iter: int | None = None` shows as INT in --help) and refuse a bad value in one line
    before any work, and whose flags get no automatic short flags, which would mean different
    things in different tasks."""

    def __init__(self, body: Callable, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_shortflags", False)
        self._hints = typing.get_type_hints(body)
        super().__init__(body, *args, **kwargs)

    def arg_opts(self, name: str, default: Any, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        hint = self._hints.get(name)
        kinds = [k for k in (hint, *typing.get_args(hint)) if k in (int, float)]
        if kinds and name not in self.iterable:
            opts["kind"] = _flag_kind(kinds[0], name.replace("_", "-"))
        return opts


task = functools.partial(invoke.task, klass=ProjectTask)


class FlagGroup:
    """Flags that several tasks share, declared once. As a decorator it adds them to a task's
    signature (after the task's own flags) and hands the body their values as one mapping, under
    the group's name; `help` goes into the task's help. `kinds` types number flags as a task's
    own annotations do (INT or NUMBER in --help, a bad value refused in one line)."""

    def __init__(
        self,
        name: str,
        flags: dict[str, tuple[Any, str]],
        kinds: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.flags = flags  # flag -> (default, help)
        self.help = {flag: text for flag, (_, text) in flags.items()}
        self.kinds = kinds or {}

    def __call__(self, body: Callable) -> Callable:
        @functools.wraps(body)
        def wrapper(c: Context, *args: Any, **kwargs: Any) -> Any:
            values = {flag: kwargs.pop(flag, default) for flag, (default, _) in self.flags.items()}
            return body(c, *args, **{self.name: values}, **kwargs)

        signature = inspect.signature(body)
        kept = [p for p in signature.parameters.values() if p.name != self.name]
        added = [
            inspect.Parameter(flag, inspect.Parameter.KEYWORD_ONLY, default=default)
            for flag, (default, _) in self.flags.items()
        ]
        wrapper.__signature__ = signature.replace(parameters=kept + added)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {**body.__annotations__, **self.kinds}
        return wrapper


# Which workspace; they override the environment and config.json (README: Train on Azure ML).
WORKSPACE = FlagGroup(
    "azure_workspace",
    {
        "subscription": (
            "",
            "Azure subscription id (default: AZURE_SUBSCRIPTION_ID or config.json)",
        ),
        "resource_group": ("", "resource group (default: AZURE_RESOURCE_GROUP or config.json)"),
        "workspace": ("", "Azure ML workspace (default: AZUREML_WORKSPACE_NAME or config.json)"),
    },
)
# Running a spec as an Azure ML job instead of on this machine (train, sweep).
AZURE_JOB = FlagGroup(
    "azure_job",
    {
        "remote": (
            False,
            "run it on Azure ML instead: the job of the spec, same command and inputs",
        ),
        "stream": (
            False,
            "with --remote: wait for the job, stream its logs, exit with its outcome",
        ),
        "dry_run": (False, "write the resolved job YAML to outputs/azureml/ and contact nothing"),
        "compute": ("", "with --remote: compute cluster (default: azure.compute, else the spec's)"),
        "job_name": ("", "with --remote: name the job (default: a name Azure ML picks)"),
    },
)


# The training's hyperparameters (train, pipeline): each named one is the spec's input of that name,
# --param adds any other estimator parameter to the training command.
HYPERPARAMETERS = FlagGroup(
    "hyperparameters",
    {
        "learning_rate": (None, "boosting learning rate, a NUMBER (default: the spec's, 0.05)"),
        "max_iter": (None, "number of boosting iterations (default: the spec's, 200)"),
        "max_depth": (None, "maximum depth of each tree (default: the spec's, 3)"),
        "param": (None, "any other estimator parameter as NAME=VALUE (repeatable)"),
    },
    kinds={"learning_rate": float | None, "max_iter": int | None, "max_depth": int | None},
)


def _hyperparameters(values: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The named hyperparameters given, as spec inputs; --param pairs as command arguments."""
    named = {k: v for k, v in values.items() if k != "param" and v is not None}
    return named, tuple(arg for pair in values["param"] or [] for arg in ("--param", pair))


def _refuse_bad_params(values: dict[str, Any]) -> None:
    """--param pairs checked before any work: not in a job an hour later, nor after the first
    pipeline steps (importing scikit-learn, which knows the names, takes a second)."""
    if values["param"]:
        from diabetes_model.core.model import parse_param_pairs

        _checked(parse_param_pairs, values["param"])


def _project(c: Context, azure_workspace: dict[str, str] | None = None, **flags: Any):
    """The settings of this checkout: invoke.yaml (with INVOKE_*), config.json, environment, flags."""
    from diabetes_model.project import Project

    given = {name: value for name, value in flags.items() if value not in ("", None)}
    names = {"subscription": "subscription_id", "workspace": "workspace_name"}
    chosen = {names.get(flag, flag): value for flag, value in (azure_workspace or {}).items()}
    return _checked(Project.load, ROOT, c.config, os.environ, given, chosen)


def _checked(function: Callable, *args: Any, **kwargs: Any) -> Any:
    """Expected failures end as one line and a non-zero exit, not a traceback; so does Ctrl-C
    (invoke itself would exit 1 without a word)."""
    from diabetes_model.errors import Interrupted, UserError

    try:
        return function(*args, **kwargs)
    except UserError as error:
        raise Exit(f"error: {error}", code=1) from None
    except Interrupted as stopped:
        raise Exit(str(stopped), code=130) from None
    except KeyboardInterrupt:
        raise Exit("interrupted", code=130) from None


def _run_or_exit(c: Context, command: str, **kwargs: Any) -> None:
    """Run a command from the project root; on failure exit with its code, adding no noise: the
    command has already said what went wrong."""
    with c.cd(str(ROOT)):
        result = c.run(command, warn=True, **kwargs)
    if result is not None and not result.ok:
        raise Exit(code=result.exited)


def _exit_with(code: int) -> None:
    if code:
        raise Exit(code=code)


def _submit(project, spec: Path, azure_job: dict[str, Any], **submission: Any) -> None:
    """`--remote` and `--dry-run` of train and sweep: the spec as an Azure ML job."""
    from diabetes_model.azure import jobs

    job = jobs.Submission(
        spec, compute=azure_job["compute"], job_name=azure_job["job_name"], **submission
    )
    options = {"dry_run": azure_job["dry_run"], "stream": azure_job["stream"]}
    _exit_with(_checked(jobs.submit, project, job, **options))


def _runs_remotely(azure_job: dict[str, Any]) -> bool:
    return bool(azure_job["remote"] or azure_job["dry_run"])


# --- local: the loop on this machine ---


@task(
    help={
        "source": "table to fetch instead of the bundled diabetes data: an http(s) URL or a file "
        "path, CSV or Parquet",
        "sha256": "expected SHA-256 of the source (required for URLs); a verified copy is reused",
        "target": "with --source: a new table, whose target is this column; it goes to "
        "data/<its name>, and invoke.yaml's project settings are pointed at it",
        "output": "where to write the table (default: project.data_path in invoke.yaml)",
        "timeout": "seconds to wait for the server before giving up",
        "upload": "then register it as the Azure ML data asset (reused when unchanged)",
        **WORKSPACE.help,
    }
)
@WORKSPACE
def data(
    c: Context,
    source: str = "",
    sha256: str = "",
    target: str = "",
    output: str = "",
    timeout: float = 30.0,
    upload: bool = False,
    azure_workspace: dict[str, str] | None = None,
):
    """local · Put the training table under data/: the bundled diabetes set, or yours, checked."""
    from diabetes_model import dataset

    project = _project(c, azure_workspace, data_path=output)
    info = _checked(dataset.put_dataset, project, source, sha256, timeout, target)
    action = "wrote" if info.fetched else "already up to date:"
    print(f"{action} {project.shown(info.path)} ({info.rows} rows, sha256 {info.sha256})")
    for line in info.schema.describe():
        print(line)
    if target:
        print(_checked(dataset.adopt_table, project, info, source))
        project = _project(c, azure_workspace)
    if upload:
        from diabetes_model.azure import assets

        _checked(assets.upload_data, project)


@task(
    help={
        "data": "training CSV (default: project.data_path in invoke.yaml)",
        "experiment": "MLflow experiment (default: project.experiment_name)",
        "no_register": "log the model without registering a new version",
        **HYPERPARAMETERS.help,
        **AZURE_JOB.help,
        **WORKSPACE.help,
    },
    iterable=["param"],
)
@WORKSPACE
@AZURE_JOB
@HYPERPARAMETERS
def train(
    c: Context,
    data: str = "",
    experiment: str = "",
    no_register: bool = False,
    hyperparameters: dict[str, Any] | None = None,
    azure_job: dict[str, Any] | None = None,
    azure_workspace: dict[str, str] | None = None,
):
    """local · Train with MLflow tracking; --remote runs the same command on Azure ML."""
    project = _project(c, azure_workspace, data_path=data, experiment_name=experiment)
    overrides, extra = _hyperparameters(hyperparameters)
    extra += ("--no-register",) if no_register else ()
    if _runs_remotely(azure_job):
        _refuse_bad_params(hyperparameters)
        _submit(project, project.specs.train, azure_job, overrides=overrides, extra_args=extra)
        return
    from diabetes_model.job_specs import local_training_command

    # The job spec's command with local values: one command line, here and on Azure ML.
    argv = _checked(local_training_command, project, overrides, extra, sys.executable)
    _run_or_exit(c, shlex.join(argv), env={"MLFLOW_TRACKING_URI": project.tracking_uri})


@task(
    help={
        "data": "training table (default: project.data_path in invoke.yaml)",
        "experiment": "MLflow experiment of the training run (default: project.experiment_name)",
        "force": "run every step, even one whose inputs and code have not changed (with "
        "--remote: Azure ML reruns every step too)",
        "promote_anyway": "promote the candidate even if it loses against the champion; the "
        "version records the override (promoted_anyway)",
        **HYPERPARAMETERS.help,
        **AZURE_JOB.help,
        **WORKSPACE.help,
    },
    iterable=["param"],
)
@WORKSPACE
@AZURE_JOB
@HYPERPARAMETERS
def pipeline(
    c: Context,
    data: str = "",
    experiment: str = "",
    force: bool = False,
    promote_anyway: bool = False,
    hyperparameters: dict[str, Any] | None = None,
    azure_job: dict[str, Any] | None = None,
    azure_workspace: dict[str, str] | None = None,
):
    """local · Prep, train, evaluate against the champion, register what passes; --remote too."""
    project = _project(c, azure_workspace, data_path=data, experiment_name=experiment)
    overrides, train_args = _hyperparameters(hyperparameters)
    _refuse_bad_params(hyperparameters)
    if _runs_remotely(azure_job):
        from diabetes_model.azure import pipeline as remote

        submission = remote.PipelineSubmission(
            overrides,
            train_args,
            force,
            promote_anyway,
            azure_job["compute"],
            azure_job["job_name"],
        )
        options = {"dry_run": azure_job["dry_run"], "stream": azure_job["stream"]}
        _exit_with(_checked(remote.submit_pipeline, project, submission, os.environ, **options))
        return
    from diabetes_model.pipeline import PipelineRequest, run_pipeline
    from diabetes_model.run_summary import report_local_run

    request = PipelineRequest(overrides, train_args, force=force, promote_anyway=promote_anyway)
    report_local_run(project, _checked(run_pipeline, project, request, os.environ), os.environ)
    # As `python -m diabetes_model.train` does before it exits: the millions of objects mlflow,
    # scikit-learn and pandas created need no collection at exit (about a second saved).
    gc.freeze()


@task(
    help={
        "trials": "local: number of trials (default: limits.max_total_trials in the sweep spec)",
        **AZURE_JOB.help,
        **WORKSPACE.help,
    }
)
@WORKSPACE
@AZURE_JOB
def sweep(
    c: Context,
    trials: int = 0,
    azure_job: dict[str, Any] | None = None,
    azure_workspace: dict[str, str] | None = None,
):
    """local · Search hyperparameters as child MLflow runs; --remote as an Azure ML sweep job."""
    project = _project(c, azure_workspace)
    if _runs_remotely(azure_job):
        _submit(project, project.specs.sweep, azure_job)
        return
    from diabetes_model.sweep import run_sweep

    _checked(run_sweep, project, trials=trials)


@task(
    help={
        # invoke takes no optional positional argument: --model, as in `invoke serve`.
        "model": "NAME:VERSION (or NAME/VERSION), or NAME for its champion (default: the "
        "champion of project.model_name)",
        "remote": "read the Azure ML workspace's registry, where the champion is the version "
        "tagged champion=true",
        **WORKSPACE.help,
    }
)
@WORKSPACE
def lineage(
    c: Context, model: str = "", remote: bool = False, azure_workspace: dict[str, str] | None = None
):
    """local · Print a model version's record: data, code, who, environment, evaluation, deploys."""
    project = _project(c, azure_workspace)
    if remote:
        from diabetes_model.azure.champion import remote_record

        record = _checked(remote_record, project, model)
    else:
        from diabetes_model.lineage import local_record

        record = _checked(local_record, project.tracking_uri, model, project.settings.model_name)
    print("\n".join(record.describe()))


@task(
    help={
        "port": "port to listen on (Codespaces forwards 5000)",
        "host": "interface to bind: 127.0.0.1 keeps the unauthenticated UI on this machine "
        "(VS Code and Codespaces forward it); 0.0.0.0 offers it to your whole network",
    }
)
def ui(c: Context, port: int = 5000, host: str = "127.0.0.1"):
    """local · Open the MLflow UI on the project's tracking store."""
    from diabetes_model.tracking import UI_VIEW, ui_command

    uri = _project(c).tracking_uri
    command = ui_command(sys.executable, uri, host, port, os.environ)
    # The link opens the model-training view (the UI starts in its GenAI view otherwise).
    print(f"MLflow UI on http://localhost:{port}/#/experiments?{UI_VIEW} (store: {uri})")
    _run_or_exit(c, shlex.join(command))


@task(
    help={
        "match": "only the notebooks whose file name contains this text (e.g. 02)",
        "timeout": "seconds a single cell may run before the notebook counts as failed",
    }
)
def notebooks(c: Context, match: str = "", timeout: int = 600):
    """local · Run the notebooks top to bottom; executed copies go to notebooks/executed/."""
    command = [sys.executable, "-m", "diabetes_model.workstation.notebooks", "notebooks"]
    command += ["--output", "notebooks/executed", "--timeout", str(timeout)]
    if match:
        command += ["--match", match]
    _run_or_exit(c, shlex.join(command))


# --- azure: the workspace's cluster, registry and endpoint ---


@task(
    help={
        "location": "Azure region of a new resource group and workspace (default: setup.location "
        "in invoke.yaml; an existing group keeps its own)",
        "app_name": "display name of the app registration GitHub Actions logs in as "
        "(default: setup.app_name in invoke.yaml)",
        "repo": "OWNER/NAME of the GitHub repository the app trusts and whose secrets are set "
        "(default: git's origin)",
        "compute_operator": "also give the app AzureML Compute Operator (for a workflow that "
        "runs invoke compute)",
        "skip_github": "set up Azure only; leave the GitHub secrets and variables alone",
        "dry_run": "say what would be created or reused; only read, change nothing",
        **WORKSPACE.help,
    }
)
@WORKSPACE
def azure_setup(
    c: Context,
    location: str = "",
    app_name: str = "",
    repo: str = "",
    compute_operator: bool = False,
    skip_github: bool = False,
    dry_run: bool = False,
    azure_workspace: dict[str, str] | None = None,
):
    """azure · Create or reuse the workspace, cluster, GitHub's app, its roles and the secrets."""
    from diabetes_model.workstation import azure_setup as setup
    from diabetes_model.workstation.az import Az
    from diabetes_model.workstation.azure_setup_plan import target_from

    project = _project(c, azure_workspace)
    options = {"location": location, "app_name": app_name, "repo": repo}
    target = _checked(
        target_from,
        project,
        c.config.get("setup"),
        compute_operator=compute_operator,
        **options,
    )
    az = Az(subscription=target.subscription)
    _checked(setup.setup, target, az, dry_run=dry_run, github=not skip_github)


@task(help=WORKSPACE.help)
@WORKSPACE
def compute(c: Context, azure_workspace: dict[str, str] | None = None):
    """azure · Create or update the compute cluster of azureml/compute.yml."""
    from diabetes_model.azure.compute import create_compute

    _checked(create_compute, _project(c, azure_workspace))


@task(help={"job": "name of the completed Azure ML job whose model to register", **WORKSPACE.help})
@WORKSPACE
def register(c: Context, job: str = "", azure_workspace: dict[str, str] | None = None):
    """azure · Register a completed Azure ML job's model in the workspace, with its lineage."""
    from diabetes_model.azure.register import register_job_model

    if not job:
        raise Exit(
            "error: name the job: `invoke register --job NAME` (local training registers its "
            "model itself; `invoke train --no-register` skips that)",
            code=1,
        )
    _checked(register_job_model, _project(c, azure_workspace), job)


# copier: deploy-begin (the online endpoint: `invoke deploy`)
@task(
    help={
        "model_version": "deploy this registered version, if it passed the pipeline's gate "
        "(recorded as a manual deployment; default: the newest version that passed the gate and "
        "is newer than the champion)",
        "pipeline_job": "deploy the version this Azure ML pipeline job registered; nothing when "
        "its gate kept the model out (the Deploy workflow after Train)",
        "skip_gate": "with --model-version: deploy a version the gate never passed (one `invoke "
        "train --remote` registered); recorded on it",
        "traffic": "percent of traffic for the new deployment after its smoke request",
        "slot": "blue or green (default: the idle one)",
        "monitor": "also create or update the drift monitor (azureml/monitor.yml)",
        "rollback": "move traffic back to the previous champion's slot and make it the champion "
        "again, recorded on both versions",
        "dry_run": "write the resolved specs to outputs/azureml/deploy/; contact nothing",
        **WORKSPACE.help,
    }
)
@WORKSPACE
def deploy(
    c: Context,
    model_version: str = "",
    pipeline_job: str = "",
    skip_gate: bool = False,
    traffic: int = 100,
    slot: str = "",
    monitor: bool = False,
    rollback: bool = False,
    dry_run: bool = False,
    azure_workspace: dict[str, str] | None = None,
):
    """azure · Deploy a version that passed the gate, blue/green, smoke-tested; or roll back."""
    from diabetes_model.azure import deploy as rollout

    request = rollout.Request(
        model_version, slot, traffic, monitor, pipeline_job, skip_gate, rollback
    )
    project = _project(c, azure_workspace)
    _checked(rollout.deploy, project, request, environ=os.environ, dry_run=dry_run)


# copier: deploy-end


# --- serving: a registered model answering requests, and its inputs watched ---


@task(
    help={
        "model": "NAME/VERSION to serve (default: the newest version of project.model_name)",
        "port": "port to listen on (default 5001, azmlinfsrv's own)",
        "host": "address to bind: 127.0.0.1 keeps the model on this machine",
        "workers": "server worker processes; each loads the model",
    }
)
def serve(c: Context, model: str = "", port: int = 5001, host: str = "127.0.0.1", workers: int = 1):
    """serving · Serve a registered model with Azure ML's inference server and score.py."""
    from diabetes_model.serving import serve as serving

    project = _project(c)
    plan = _checked(
        serving.prepare, ROOT, project.tracking_uri, project.settings.model_name, model,
        port=port, host=host, workers=workers,
    )  # fmt: skip
    print(f"serving {plan.model} at {plan.url} (inputs logged to {project.shown(plan.input_log)})")
    _run_or_exit(c, plan.command, env=dict(plan.env))


@task(
    help={
        "url": "scoring URL (default: `invoke serve`'s; an endpoint's needs AZUREML_ENDPOINT_KEY)",
        "file": "request to send: a .json body, or a .csv of feature rows",
        "rows": "without --file: how many rows of the training data to send",
    }
)
def predict(c: Context, url: str = "http://127.0.0.1:5001/score", file: str = "", rows: int = 5):
    """serving · Send sample rows to a scoring URL and print the predictions."""
    from diabetes_model.serving.predict import predict as send

    settings = _project(c).settings
    # An online endpoint's key, if you call one: from the environment only, never a flag.
    key = os.environ.get("AZUREML_ENDPOINT_KEY", "")
    request_file = Path(file) if file else None
    print(_checked(send, url, request_file, settings, rows, key))


@task(
    help={
        "last": "judge only the last N scored rows (default: every row in the log)",
        "psi_threshold": "a feature drifts above this population stability index",
        "alpha": "significance level of the KS (numbers) and chi-squared (categories) tests, "
        "shared by all features",
        "min_rows": "refuse to judge fewer scored rows than this",
        "log": "input log to read (default: the one `invoke serve` writes)",
        "output": "folder for drift.md, drift.json and drift.png",
        # copier: deploy-begin
        "remote": "read the inputs the online endpoint's data collector stored for the live "
        "deployment, against the champion's training data in the workspace",
        "days": "with --remote: how many days of collected inputs to read",
        # copier: deploy-end
        "retrain": "when a feature drifts, start the Train workflow through GitHub's API "
        "(GITHUB_TOKEN and GITHUB_REPOSITORY, as GitHub Actions sets them)",
        **WORKSPACE.help,
    }
)
@WORKSPACE
def drift(
    c: Context,
    last: int = 0,
    psi_threshold: float = 0.2,
    alpha: float = 0.01,
    min_rows: int = 30,
    log: str = "",
    output: str = "outputs/drift",
    # copier: deploy-begin
    remote: bool = False,
    days: int = 7,
    # copier: deploy-end
    retrain: bool = False,
    azure_workspace: dict[str, str] | None = None,
):
    """serving · Compare recent scored inputs with the training data; exit 1 on drift."""
    from diabetes_model import drift as drifting

    project = _project(c, azure_workspace)
    options = {"report_dir": ROOT / output, "min_rows": min_rows, "last": last or None}
    options |= {"psi_threshold": psi_threshold, "alpha": alpha}
    run = None
    # copier: deploy-begin
    if remote:
        from diabetes_model.azure.collected import remote_drift

        run = _checked(remote_drift, project, options, days, os.environ)
    # copier: deploy-end
    if run is None:
        from diabetes_model.serving.serve import INPUT_LOG

        input_log = ROOT / (log or INPUT_LOG)
        run = _checked(drifting.local_drift, project.settings, input_log, **options)
    print(run.summary)
    if run.result.drifted and retrain:
        from diabetes_model.workstation.github_actions import start_training

        print(_checked(start_training, os.environ, f"drift in {', '.join(run.result.drifted)}"))
    if run.result.drifted:
        raise Exit(code=1)


# --- workspace: this checkout, its tools and its CI ---


@task(help={"online": "also ask Azure ML whether the workspace is reachable (needs a login)"})
def doctor(c: Context, online: bool = False):
    """workspace · Show what is ready here and what is not, each line with its fix."""
    from diabetes_model.workstation.doctor_probes import report

    table, failed = report(ROOT, os.environ, _project(c).tracking_uri, online=online)
    print(table)
    if failed:
        raise Exit(code=1)


@task(help={"device_code": "log in with a device code even when the service principal is set"})
def login(c: Context, device_code: bool = False):
    """workspace · Log in to Azure: the service principal from the environment, else a device code."""
    from diabetes_model.workstation.login import login as az_login

    for done in _checked(az_login, c.run, os.environ, device_code=device_code):
        print(f"done: {done}")


@task(
    help={
        "dry_run": "show what would be set (names and lengths, never values) and set nothing",
        "repo": "OWNER/NAME of the GitHub repository (default: the one gh finds for this checkout)",
    }
)
def github_secrets(c: Context, dry_run: bool = False, repo: str = ""):
    """workspace · Store the ids the Azure workflows read as GitHub secrets/variables."""
    from diabetes_model.workstation import github_secrets as gh

    assignments = _checked(gh.plan, os.environ)
    for line in _checked(gh.apply, assignments, repo or None, dry_run=dry_run):
        print(line)


@task(
    help={
        "k": "only run tests matching this expression",
        "x": "stop at the first failure",
        "quick": "skip the tests marked slow (the template render and the like)",
    }
)
def test(c: Context, k: str = "", x: bool = False, quick: bool = False):
    """workspace · Run the whole test suite (the README's test command; CI runs it too)."""
    # One worker per core; a file's tests stay together so its fixtures are built once.
    command = [sys.executable, "-m", "pytest", "--numprocesses=auto", "--dist=loadfile"]
    if k:
        command += ["-k", k]
    if quick:
        command += ["-m", "not slow"]
    if x:
        command.append("-x")
    _run_or_exit(c, shlex.join(command))


@task
def lint(c: Context):
    """workspace · Run every pre-commit hook on all files: ruff, nbstripout, YAML/JSON/TOML, secrets."""
    with c.cd(str(ROOT)):
        command = [
            sys.executable,
            "-m",
            "pre_commit",
            "run",
            "--all-files",
            "--show-diff-on-failure",
        ]
        result = c.run(shlex.join(command), warn=True)
    if result is None or not result.ok:
        raise Exit("lint failed: fix the findings above (ruff format fixes its own), then re-run")
