"""Project tasks: `invoke --list` shows them, `invoke --help TASK` explains every flag.

Only invoke and the standard library are imported here, so listing tasks stays instant; each task
imports what it needs and hands the work to the `diabetes_model` package.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from invoke import Context, Exit, task

ROOT = Path(__file__).resolve().parent


def _settings(c: Context, **flags):
    from diabetes_model.settings import Settings

    config = c.config.get("project", {})
    return Settings.from_sources(dict(config), os.environ, flags).resolve(ROOT)


def _fail_on_user_error(function, *args, **kwargs):
    """Expected failures end as one line and a non-zero exit, not a traceback."""
    from diabetes_model.errors import UserError

    try:
        return function(*args, **kwargs)
    except UserError as error:
        raise Exit(f"error: {error}", code=1) from None


# --- local loop ---

# Flags every Azure task takes; they override the environment and config.json (README: Azure).
_WORKSPACE_HELP = {
    "subscription": "Azure subscription id (default: AZURE_SUBSCRIPTION_ID or config.json)",
    "resource_group": "resource group (default: AZURE_RESOURCE_GROUP or config.json)",
    "workspace": "Azure ML workspace (default: AZUREML_WORKSPACE_NAME or config.json)",
}


@task(
    help={
        "source": "CSV to fetch instead of the bundled diabetes data: an http(s) URL or a file path",
        "sha256": "expected SHA-256 of the source (required for URLs); a verified copy is reused",
        "output": "where to write the CSV (default: project.data_path in invoke.yaml)",
        "timeout": "seconds to wait for the server before giving up",
        "upload": "then register it as the Azure ML data asset (reused when unchanged)",
        **_WORKSPACE_HELP,
    }
)
def data(
    c: Context,
    source: str = "",
    sha256: str = "",
    output: str = "",
    timeout: float = 30.0,
    upload: bool = False,
    subscription: str = "",
    resource_group: str = "",
    workspace: str = "",
):
    """Put the training data under data/: the bundled diabetes set, or a verified CSV."""
    from diabetes_model import dataset

    settings = _settings(c, data_path=output or None)
    dest = Path(settings.data_path)
    if source:
        info = _fail_on_user_error(
            dataset.fetch_dataset,
            source,
            dest,
            settings.target,
            settings.features,
            sha256=sha256 or None,
            timeout=timeout,
        )
    else:
        info = _fail_on_user_error(dataset.write_bundled_dataset, dest, settings.target)
    action = "wrote" if info.fetched else "already up to date:"
    print(f"{action} {_shown(info.path)} ({info.rows} rows, sha256 {info.sha256})")
    if upload:
        from diabetes_model.azure import cli

        azure = _azure(c, subscription, resource_group, workspace)
        _fail_on_user_error(cli.upload_data, ROOT, settings, azure)


@task(
    help={
        "data": "training CSV (default: project.data_path in invoke.yaml)",
        "learning_rate": "boosting learning rate",
        "max_iter": "number of boosting iterations",
        "max_depth": "maximum depth of each tree",
        "param": "any other estimator parameter as NAME=VALUE (repeatable)",
        "experiment": "MLflow experiment (default: project.experiment_name)",
        "no_register": "log the model without registering a new version",
        "remote": "run the same command as an Azure ML job (azureml/train.yml) instead",
        "stream": "with --remote: wait for the job, stream its logs, exit with its outcome",
        "dry_run": "with --remote: write the resolved job YAML and contact nothing",
        "compute": "with --remote: compute cluster (default: azure.compute, else the spec's)",
        "job_name": "with --remote: name the job (default: a name Azure ML picks)",
        **_WORKSPACE_HELP,
    },
    iterable=["param"],
)
def train(
    c: Context,
    data: str = "",
    learning_rate: float | None = None,
    max_iter: int | None = None,
    max_depth: int | None = None,
    param: list[str] | None = None,
    experiment: str = "",
    no_register: bool = False,
    remote: bool = False,
    stream: bool = False,
    dry_run: bool = False,
    compute: str = "",
    job_name: str = "",
    subscription: str = "",
    resource_group: str = "",
    workspace: str = "",
):
    """Train the model with MLflow tracking: locally, or on Azure ML with --remote."""
    from diabetes_model.azure import cli

    settings = _settings(c, data_path=data or None, experiment_name=experiment or None)
    azure = _azure(c, subscription, resource_group, workspace)
    named = (("learning_rate", learning_rate), ("max_iter", max_iter), ("max_depth", max_depth))
    overrides = {name: value for name, value in named if value is not None}
    extra = tuple(arg for pair in param or [] for arg in ("--param", pair))
    extra += ("--no-register",) if no_register else ()
    if remote or dry_run:
        options = {"compute": compute, "job_name": job_name, "dry_run": dry_run, "stream": stream}
        code = _fail_on_user_error(
            cli.submit_remote, "job_spec", ROOT, settings, azure, overrides=overrides,
            extra_args=extra, **options,
        )  # fmt: skip
        if code:
            raise Exit(code=code)
        return
    # The job spec's command with local values: one command line, here and on Azure ML.
    argv = _fail_on_user_error(
        cli.local_train_command, ROOT, settings, azure, overrides, extra, sys.executable
    )
    env = {"MLFLOW_TRACKING_URI": settings.tracking_uri_for(ROOT)}
    _run_or_exit(c, shlex.join(argv), env=env)


@task(
    help={
        "port": "port to listen on (Codespaces forwards 5000)",
        "host": "interface to bind; 0.0.0.0 so a container's forwarded port reaches it",
    }
)
def ui(c: Context, port: int = 5000, host: str = "0.0.0.0"):
    """Open the MLflow UI on the project's tracking store."""
    settings = _settings(c)
    uri = settings.tracking_uri_for(ROOT)
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri]
    command += ["--host", host, "--port", str(port)]
    command += _forwarded_host_flags(port)
    print(f"MLflow UI on http://localhost:{port} (store: {uri})")
    _run_or_exit(c, shlex.join(command))


def _forwarded_host_flags(port: int) -> list[str]:
    # MLflow refuses Host headers other than localhost unless told (DNS-rebinding protection); a
    # codespace's browser tab reaches it as <codespace>-<port>.<forwarding domain>.
    name = os.environ.get("CODESPACE_NAME")
    domain = os.environ.get("GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN")
    if not (name and domain):
        return []
    forwarded = f"{name}-{port}.{domain}"
    return [
        "--allowed-hosts",
        f"localhost,localhost:{port},127.0.0.1:{port},{forwarded}",
        "--cors-allowed-origins",
        f"https://{forwarded},http://localhost:{port}",
    ]


@task(help={"k": "only run tests matching this expression", "x": "stop at the first failure"})
def test(c: Context, k: str = "", x: bool = False):
    """Run the whole test suite (the README's test command)."""
    command = [sys.executable, "-m", "pytest"]
    if k:
        command += ["-k", k]
    if x:
        command.append("-x")
    _run_or_exit(c, shlex.join(command))


@task
def lint(c: Context):
    """Run every pre-commit hook on all files: ruff, nbstripout, YAML/JSON/TOML, secrets."""
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


def _run_or_exit(c: Context, command: str, **kwargs) -> None:
    """Run a command from the project root; on failure exit with its code, adding no noise: the
    command has already said what went wrong."""
    with c.cd(str(ROOT)):
        result = c.run(command, warn=True, **kwargs)
    if result is not None and not result.ok:
        raise Exit(code=result.exited)


def _shown(path: Path) -> str:
    """A path relative to the project when it is inside it, for short commands and messages."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


# --- codespaces and CI ---


@task(help={"online": "also ask Azure ML whether the workspace is reachable (needs a login)"})
def doctor(c: Context, online: bool = False):
    """Show what is ready in this workspace and what is not, each line with its fix."""
    from diabetes_model.doctor_probes import report

    tracking_uri = _settings(c).tracking_uri_for(ROOT)
    table, failed = report(ROOT, os.environ, tracking_uri, online=online)
    print(table)
    if failed:
        raise Exit(code=1)


@task(help={"device_code": "log in with a device code even when the service principal is set"})
def login(c: Context, device_code: bool = False):
    """Log in to Azure: the service principal from the environment, else a device code."""
    from diabetes_model.azure_login import login as az_login

    for done in _fail_on_user_error(az_login, c.run, os.environ, device_code=device_code):
        print(f"done: {done}")


@task(
    help={
        "dry_run": "show what would be set (names and lengths, never values) and set nothing",
        "repo": "OWNER/NAME of the GitHub repository (default: the one gh finds for this checkout)",
    }
)
def github_secrets(c: Context, dry_run: bool = False, repo: str = ""):
    """Store the ids and names the Train and Deploy workflows read as GitHub secrets/variables."""
    from diabetes_model import github_secrets as gh

    assignments = _fail_on_user_error(gh.plan, os.environ)
    for line in _fail_on_user_error(gh.apply, assignments, repo or None, dry_run=dry_run):
        print(line)


# --- azure ---


def _azure(c: Context, subscription: str = "", resource_group: str = "", workspace: str = ""):
    from diabetes_model.azure.cli import azure_settings

    flags = {
        "subscription_id": subscription,
        "resource_group": resource_group,
        "workspace_name": workspace,
    }
    config = dict(c.config.get("azure", {}))
    return _fail_on_user_error(azure_settings, ROOT, config, os.environ, flags)


@task(
    help={
        "remote": "submit the Azure ML sweep job (azureml/sweep.yml) instead of running locally",
        "trials": "local: number of trials (default: limits.max_total_trials in the sweep spec)",
        "stream": "with --remote: wait for the sweep, stream its logs, exit with its outcome",
        "dry_run": "with --remote: write the resolved sweep YAML and contact nothing",
        "compute": "with --remote: compute cluster (default: azure.compute, else the spec's)",
        "job_name": "with --remote: name the sweep job",
        **_WORKSPACE_HELP,
    }
)
def sweep(
    c: Context,
    remote: bool = False,
    trials: int = 0,
    stream: bool = False,
    dry_run: bool = False,
    compute: str = "",
    job_name: str = "",
    subscription: str = "",
    resource_group: str = "",
    workspace: str = "",
):
    """Search hyperparameters: child MLflow runs locally, an Azure ML sweep job with --remote."""
    from diabetes_model.azure import cli

    settings = _settings(c)
    azure = _azure(c, subscription, resource_group, workspace)
    if remote or dry_run:
        options = {"compute": compute, "job_name": job_name, "dry_run": dry_run, "stream": stream}
        code = _fail_on_user_error(
            cli.submit_remote, "sweep_spec", ROOT, settings, azure, **options
        )
        if code:
            raise Exit(code=code)
        return
    tracking_uri = settings.tracking_uri_for(ROOT)
    _fail_on_user_error(cli.sweep_local, ROOT, settings, azure, trials, tracking_uri)


@task(
    help={
        "job": "name of the completed Azure ML job whose model to register",
        "remote": "required: the model is registered in the Azure ML workspace",
        **_WORKSPACE_HELP,
    }
)
def register(
    c: Context,
    job: str = "",
    remote: bool = False,
    subscription: str = "",
    resource_group: str = "",
    workspace: str = "",
):
    """Register a completed Azure ML job's model in the workspace, tagged with its lineage."""
    from diabetes_model.azure import cli

    if not remote or not job:
        raise Exit(
            "error: use `invoke register --remote --job NAME` (local training registers its "
            "model itself; `invoke train --no-register` skips that)",
            code=1,
        )
    azure = _azure(c, subscription, resource_group, workspace)
    _fail_on_user_error(cli.register_remote, _settings(c), azure, job)


@task(help=_WORKSPACE_HELP)
def compute(c: Context, subscription: str = "", resource_group: str = "", workspace: str = ""):
    """Create or update the Azure ML compute cluster from azureml/compute.yml."""
    from diabetes_model.azure import cli

    azure = _azure(c, subscription, resource_group, workspace)
    _fail_on_user_error(cli.create_compute, ROOT, azure)


# --- notebooks ---


@task(
    help={
        "match": "only the notebooks whose file name contains this text (e.g. 02)",
        "timeout": "seconds a single cell may run before the notebook counts as failed",
    }
)
def notebooks(c: Context, match: str = "", timeout: int = 600):
    """Run the notebooks top to bottom; executed copies go to notebooks/executed/."""
    command = [sys.executable, "-m", "diabetes_model.notebook_run", "notebooks"]
    command += ["--output", "notebooks/executed", "--timeout", str(timeout)]
    if match:
        command += ["--match", match]
    _run_or_exit(c, shlex.join(command))


# --- serving and monitoring ---


@task(
    help={
        "model": "NAME/VERSION to serve (default: the newest version of project.model_name)",
        "port": "port to listen on (default 5001, azmlinfsrv's own)",
        "host": "address to bind: 127.0.0.1 keeps the model on this machine",
        "workers": "server worker processes; each loads the model",
    }
)
def serve(c: Context, model: str = "", port: int = 5001, host: str = "127.0.0.1", workers: int = 1):
    """Serve a registered model locally with Azure ML's inference server and score.py."""
    from diabetes_model.serving import local

    settings = _settings(c)
    tracking_uri = settings.tracking_uri_for(ROOT)
    plan = _fail_on_user_error(
        local.prepare, ROOT, tracking_uri, settings.model_name, model,
        port=port, host=host, workers=workers,
    )  # fmt: skip
    print(f"serving {plan.model} at {plan.url} (inputs logged to {_shown(plan.input_log)})")
    _run_or_exit(c, plan.command, env=dict(plan.env))


@task(
    help={
        "url": "scoring URL (default: `invoke serve`'s; an endpoint's needs AZUREML_ENDPOINT_KEY)",
        "file": "request to send: a .json body, or a .csv of feature rows",
        "rows": "without --file: how many rows of the training data to send",
    }
)
def predict(c: Context, url: str = "http://127.0.0.1:5001/score", file: str = "", rows: int = 5):
    """Send sample rows to a scoring URL and print the predictions."""
    from diabetes_model.serving import local

    settings = _settings(c)
    data_path = Path(settings.data_path)
    request_file = Path(file) if file else None
    # An online endpoint's key, if you call one: from the environment only, never a flag.
    key = os.environ.get("AZUREML_ENDPOINT_KEY", "")
    predictions = _fail_on_user_error(
        local.predict, url, request_file, data_path, settings.target, settings.features, rows, key
    )
    print(predictions)


@task(
    help={
        "model_version": "registered model version (default: the workspace's latest)",
        "traffic": "percent of traffic for the new deployment after its smoke request",
        "slot": "blue or green (default: the idle one)",
        "monitor": "also create or update the drift monitor (azureml/monitor.yml)",
        "dry_run": "write the resolved specs to outputs/azureml/deploy/; contact nothing",
        **_WORKSPACE_HELP,
    }
)
def deploy(
    c: Context,
    model_version: str = "",
    traffic: int = 100,
    slot: str = "",
    monitor: bool = False,
    dry_run: bool = False,
    subscription: str = "",
    resource_group: str = "",
    workspace: str = "",
):
    """Deploy the registered model to the Azure ML online endpoint, blue/green."""
    from diabetes_model.serving import deploy as rollout

    azure = _azure(c, subscription, resource_group, workspace)
    _fail_on_user_error(
        rollout.run_task, ROOT, _settings(c), azure, dict(c.config.get("deploy", {})),
        model_version=model_version, traffic=traffic, slot=slot, monitor=monitor, dry_run=dry_run,
    )  # fmt: skip


@task(
    help={
        "last": "judge only the last N scored rows (default: every row in the log)",
        "psi_threshold": "a feature drifts above this population stability index",
        "ks_alpha": "Kolmogorov-Smirnov significance level, shared by all features",
        "min_rows": "refuse to judge fewer scored rows than this",
        "log": "input log to read (default: the one `invoke serve` writes)",
        "output": "folder for drift.md, drift.json and drift.png",
    }
)
def drift(
    c: Context,
    last: int = 0,
    psi_threshold: float = 0.2,
    ks_alpha: float = 0.01,
    min_rows: int = 30,
    log: str = "",
    output: str = "outputs/drift",
):
    """Compare recent scored inputs with the training data; exit 1 when a feature drifts."""
    from diabetes_model import drift_report
    from diabetes_model.serving.local import INPUT_LOG

    settings = _settings(c)
    run = _fail_on_user_error(
        drift_report.run_drift,
        data_path=Path(settings.data_path),
        target=settings.target,
        features=settings.features,
        input_log=ROOT / (log or INPUT_LOG),
        report_dir=ROOT / output,
        last=last or None,
        min_rows=min_rows,
        psi_threshold=psi_threshold,
        ks_alpha=ks_alpha,
    )
    print(run.summary)
    if run.result.drifted:
        raise Exit(code=1)
