"""`invoke deploy --monitor`: Azure ML model monitoring of the live slot (azureml/monitor.yml)
against the training data, registered as the MLTable asset the monitor reads."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from diabetes_model.azure.assets import exists, file_hash
from diabetes_model.azure.settings import AzureSettings
from diabetes_model.console import Say
from diabetes_model.errors import UserError
from diabetes_model.job_specs import load_spec
from diabetes_model.project import Project, Specs

MLTABLE = """\
$schema: https://azuremlschemas.azureedge.net/latest/MLTable.schema.json
type: mltable
paths:
  - file: ./{file}
transformations:
  - read_delimited:
      delimiter: ","
      encoding: utf8
      header: all_files_same_headers
"""


def alert_emails(azure: AzureSettings) -> tuple[str, ...]:
    """Who the monitor alerts; a monitor that alerts no one is refused."""
    if not azure.notify_emails:
        raise UserError(
            "--monitor needs someone to alert: set azure.notify_emails in invoke.yaml "
            "(or INVOKE_AZURE_NOTIFY_EMAILS=you@example.org)"
        )
    return tuple(azure.notify_emails)


def reference_csv(path: Path | None) -> Path:
    """The training data the monitor compares with; checked before anything is deployed."""
    if path is None or not path.is_file():
        raise UserError(
            f"--monitor compares with the training data, but {path} is missing; run `invoke data`"
        )
    return path


def target_and_task(project: Project) -> tuple[str, str]:
    """The target column and the task the monitor is told about (its `ml_task`), as training
    reads them from the data; without the data, the task setting (auto counts as regression)."""
    settings = project.settings
    if project.data_path.is_file():
        from diabetes_model.tables import load_training_table

        _, schema = load_training_table(
            project.data_path, settings.target, settings.features, settings.ignore, settings.task
        )
        return schema.target, schema.task
    return settings.target, "classification" if settings.task == "classification" else "regression"


def apply_monitor(
    client: Any,
    project: Project,
    endpoint: str,
    slot: str,
    emails: Sequence[str],
    say: Say,
) -> None:
    """Create or update the monitor schedule on the slot that just took traffic."""
    specs = project.specs
    reference = ensure_reference(client, specs, project.data_path, say)
    target, task = target_and_task(project)
    schedule = monitor_schedule(specs, endpoint, slot, reference, emails, target, task)
    client.schedules.begin_create_or_update(schedule).result()
    say(f"monitor {schedule.name}: {slot} against {reference}, alerts to {', '.join(emails)}")


def monitor_schedule(
    specs: Specs,
    endpoint: str,
    slot: str,
    reference: str,
    emails: Sequence[str],
    target: str = "target",
    task: str = "regression",
) -> Any:
    """The monitor spec with its target deployment, alert addresses, reference data, and the
    table's target column and task (the spec's thresholds cover numeric and categorical
    features alike)."""
    # `az ml schedule create` loads schedules with this function; azure.ai.ml does not re-export it.
    from azure.ai.ml.entities._load_functions import load_schedule

    prefix = "create_monitor."
    reference_data = f"{prefix}monitoring_signals.input_drift.reference_data"
    return load_schedule(
        specs.monitor,
        params_override=[
            {f"{prefix}monitoring_target.endpoint_deployment_id": f"azureml:{endpoint}:{slot}"},
            {f"{prefix}monitoring_target.ml_task": task},
            {f"{prefix}alert_notification.emails": list(emails)},
            {f"{reference_data}.input_data.path": reference},
            {f"{reference_data}.data_column_names.target_column": target},
        ],
    )


def ensure_reference(client: Any, specs: Specs, training_csv: Path, say: Say) -> str:
    """The training data as the MLTable asset the monitor compares against (content-hashed)."""
    from azure.ai.ml.constants import AssetTypes
    from azure.ai.ml.entities import Data

    csv = reference_csv(training_csv)
    name = reference_name(specs)
    version = file_hash(csv)
    if exists(client.data, name, version):
        say(f"reference data {name}:{version} (reused)")
    else:
        with tempfile.TemporaryDirectory() as folder:
            shutil.copyfile(csv, Path(folder) / csv.name)
            (Path(folder) / "MLTable").write_text(MLTABLE.format(file=csv.name), encoding="utf-8")
            data = Data(name=name, version=version, type=AssetTypes.MLTABLE, path=folder)
            client.data.create_or_update(data)
        say(f"reference data {name}:{version} (registered)")
    return f"azureml:{name}:{version}"


def reference_name(specs: Specs) -> str:
    """The reference data asset's name, as the monitor spec gives it."""
    spec = load_spec(specs.monitor)
    signal = spec["create_monitor"]["monitoring_signals"]["input_drift"]
    path = str(signal["reference_data"]["input_data"]["path"])
    return path.removeprefix("azureml:").split("@")[0].split(":")[0]
