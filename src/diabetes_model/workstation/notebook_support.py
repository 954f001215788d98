"""What the notebooks call: the project's settings and data, training runs and their comparison,
and the registered model, all through the package, so a notebook holds no logic of its own.

An edge: it reads invoke.yaml and the environment, writes the data file and talks to MLflow.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from diabetes_model.console import Say
from diabetes_model.errors import UserError
from diabetes_model.project import Project


def find_root(start: Path | None = None) -> Path:
    """The nearest folder with invoke.yaml, from `start` (the notebook's folder) upwards."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "invoke.yaml").is_file():
            return folder
    raise UserError(
        f"no invoke.yaml in {start} or any folder above it; open the notebook from the "
        "project's notebooks/ folder"
    )


def open_project(start: Path | None = None) -> Project:
    """The settings the tasks see, read once: invoke.yaml < config.json (Azure) < environment
    (INVOKE_PROJECT_*, INVOKE_AZURE_*, MLFLOW_TRACKING_URI, AZURE_*)."""
    from invoke import Config

    root = find_root(start)
    config = Config(project_location=str(root))
    config.load_project()
    config.load_shell_env()  # INVOKE_* variables, exactly as invoke applies them to the tasks
    return Project.load(root, config, os.environ)


def ensure_data(project: Project, say: Say = print) -> Path:
    """The data file; the bundled diabetes data (`invoke data`) is written first if it is missing."""
    from diabetes_model.dataset import write_bundled_dataset

    path = project.data_path
    if not path.exists():
        info = write_bundled_dataset(path, project.settings.target)
        say(f"wrote the bundled diabetes data to {project.shown(path)} ({info.rows} rows)")
    return path


def load_data(project: Project, say: Say = print) -> tuple[Any, Any]:
    """The training table, validated as training validates it (see ensure_data), and its schema
    (task, feature kinds, columns left out), which is also said, as `invoke train` says it."""
    from diabetes_model.tables import load_training_table

    settings = project.settings
    path = ensure_data(project, say)
    frame, schema = load_training_table(
        path, settings.target, settings.features, settings.ignore, settings.task
    )
    for line in schema.describe():
        say(line)
    return frame, schema


def configured_workspace(project: Project, say: Say = print) -> Any | None:
    """The workspace, or None after one line that says what to set."""
    try:
        workspace = project.azure.workspace()
    except UserError as error:
        say(f"Not submitting: {error}.")
        return None
    say(f"workspace {workspace.workspace_name} in resource group {workspace.resource_group}")
    return workspace


def train_configuration(
    project: Project, hyperparameters: Mapping[str, Any], register: bool = True
) -> Any:
    """Train once, in this process, exactly as `invoke train` would; returns the TrainedRun."""
    from diabetes_model import job_specs, train

    config = job_specs.training_config(project, hyperparameters, register)
    with warnings.catch_warnings():
        # MLflow's artifact progress bar imports tqdm.auto, which warns in a kernel without
        # ipywidgets (and then draws a text bar, which is all a notebook needs here).
        warnings.filterwarnings("ignore", message="IProgress not found")
        return train.train_and_log(config, project.tracking_uri)


def compare_runs(tracking_uri: str, runs: Mapping[str, str]) -> Any:
    """One row per named run, as MLflow recorded it: the parameters that differ between the
    runs, every metric, and the registered model version of the run (if any)."""
    import pandas as pd
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    records = {}
    for name, run_id in runs.items():
        run = client.get_run(run_id)
        versions = client.search_model_versions(f"run_id = '{run_id}'")
        records[name] = {
            "params": dict(run.data.params),
            "metrics": dict(run.data.metrics),
            "version": max((int(v.version) for v in versions), default=None),
        }
    return pd.DataFrame.from_dict(comparison_rows(records), orient="index")


def comparison_rows(records: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Pure part of compare_runs: varying parameters (as numbers where they are), test metrics
    before train metrics, then the model version."""
    from diabetes_model.core.model import parse_value

    names = sorted({p for record in records.values() for p in record["params"]})
    varying = [n for n in names if len({r["params"].get(n) for r in records.values()}) > 1]
    metrics = sorted(
        {m for record in records.values() for m in record["metrics"]},
        key=lambda m: (not m.startswith("test_"), m),
    )
    rows = {}
    for name, record in records.items():
        row = {
            p: parse_value(record["params"][p]) if p in record["params"] else None for p in varying
        }
        row.update({m: record["metrics"].get(m) for m in metrics})
        row["model_version"] = record.get("version")
        rows[name] = row
    return rows


def load_registered_model(tracking_uri: str, model_name: str, version: int | str) -> Any:
    """A registered model version as an MLflow pyfunc model, ready to predict."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.pyfunc.load_model(f"models:/{model_name}/{version}")
