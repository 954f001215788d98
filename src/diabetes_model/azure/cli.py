"""What the Azure-facing invoke tasks call: each function takes the settings the task built and
does one task's work (tasks.py stays a list of flags)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from diabetes_model.azure import assets, jobs, specs
from diabetes_model.azure.settings import AzureSettings, read_config_json
from diabetes_model.azure.workspace import azure_errors, connect

Say = Callable[[str], None]


def azure_settings(
    root: Path,
    config: Mapping[str, Any],
    environ: Mapping[str, str],
    flags: Mapping[str, Any] | None = None,
) -> AzureSettings:
    """invoke.yaml's `azure:` section < config.json < environment < flags."""
    return AzureSettings.from_sources(config, environ, flags, read_config_json(root))


def local_train_command(
    root: Path,
    project: Any,
    azure: AzureSettings,
    overrides: Mapping[str, Any],
    extra_args: tuple[str, ...],
    python: str,
) -> list[str]:
    """The job spec's command with local values: what `invoke train` runs."""
    return specs.local_command(
        azure.path(root, "job_spec"),
        _shown(root, Path(project.data_path)),
        {**specs.project_inputs(project), **overrides},
        extra_args,
        python=python,
    )


def submit_remote(
    spec_name: str,
    root: Path,
    project: Any,
    azure: AzureSettings,
    *,
    overrides: Mapping[str, Any] | None = None,
    extra_args: tuple[str, ...] = (),
    compute: str = "",
    job_name: str = "",
    dry_run: bool = False,
    stream: bool = False,
    say: Say = print,
) -> int:
    """`invoke train --remote` (spec_name "job_spec") and `invoke sweep --remote` ("sweep_spec")."""
    submission = jobs.Submission(
        root=root,
        data_file=Path(project.data_path),
        inputs={**specs.project_inputs(project), **(overrides or {})},
        extra_args=extra_args,
        compute=compute or azure.compute,
        job_name=job_name,
    )
    return jobs.submit(spec_name, submission, azure, dry_run=dry_run, stream=stream, say=say)


def sweep_local(
    root: Path, project: Any, azure: AzureSettings, trials: int, tracking_uri: str, say: Say = print
) -> None:
    from diabetes_model.azure.local_sweep import run_sweep

    run_sweep(
        azure.path(root, "sweep_spec"),
        Path(project.data_path),
        specs.project_inputs(project),
        tracking_uri,
        trials=trials,
        say=say,
    )


def upload_data(root: Path, project: Any, azure: AzureSettings, say: Say = print) -> str:
    """`invoke data --upload`: register the local data file as the data asset, or reuse it."""
    workspace = azure.workspace()
    client = connect(workspace)
    with azure_errors(workspace):
        return assets.ensure_data(
            client, azure.path(root, "data_spec"), Path(project.data_path), say=say
        )


def create_compute(root: Path, azure: AzureSettings, say: Say = print) -> None:
    """`invoke compute`: create or update the cluster from its spec."""
    workspace = azure.workspace()
    client = connect(workspace)
    with azure_errors(workspace):
        assets.ensure_compute(client, azure.path(root, "compute_spec"), say=say)


def register_remote(project: Any, azure: AzureSettings, job_name: str, say: Say = print) -> None:
    """`invoke register --remote --job NAME`: the job's model into the workspace registry."""
    workspace = azure.workspace()
    client = connect(workspace)
    with azure_errors(workspace):
        assets.register_job_model(client, job_name, project.model_name, say=say)


def _shown(root: Path, path: Path) -> Path:
    try:
        return path.relative_to(root)
    except ValueError:
        return path
