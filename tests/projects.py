"""A `Project` for tests: the repository's own specs, with settings and outputs where a test puts them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from diabetes_model.project import Project

ROOT = Path(__file__).resolve().parents[1]

# The tests train on the bundled demo table (the conftest's diabetes_csv, or what `invoke data`
# writes without a source), whatever table invoke.yaml names: so a project made from the template
# with its own data keeps a suite that passes. These are the demo's data settings.
DEMO_TABLE = {
    "data_source": "",
    "data_sha256": "",
    "data_path": "data/diabetes.csv",
    "target": "target",
    "task": "auto",
    "features": "age, sex, bmi, bp, s1, s2, s3, s4, s5, s6",
    "ignore": "",
}


def invoke_config() -> dict[str, Any]:
    """invoke.yaml as the tests use it: the repository's, with the demo table's data settings."""
    import yaml

    config = yaml.safe_load((ROOT / "invoke.yaml").read_text())
    config["project"] = {**config["project"], **DEMO_TABLE}
    return config


def copy_invoke_yaml(folder: Path) -> None:
    """invoke.yaml for a copy of the project that a test runs tasks in (see invoke_config)."""
    import yaml

    (folder / "invoke.yaml").write_text(yaml.safe_dump(invoke_config(), sort_keys=False))


def make_project(
    tmp_path: Path,
    project: Mapping[str, Any] | None = None,
    azure: Mapping[str, Any] | None = None,
    deploy: Mapping[str, Any] | None = None,
    root: Path = ROOT,
    environ: Mapping[str, str] | None = None,
    pipeline: Mapping[str, Any] | None = None,
) -> Project:
    """The settings come from `project`, `azure`, `deploy` and `pipeline` over the repository's
    invoke.yaml, and the environment (MLFLOW_TRACKING_URI, AZURE_*); generated files go under
    tmp_path."""
    yaml_config = invoke_config()
    config = {
        "project": {**yaml_config["project"], **(project or {})},
        "azure": {
            **yaml_config["azure"],
            "output_dir": str(tmp_path / "outputs" / "azureml"),
            **(azure or {}),
        },
        "deploy": {
            **yaml_config["deploy"],
            "output_dir": str(tmp_path / "outputs" / "deploy"),
            **(deploy or {}),
        },
        "pipeline": {
            **yaml_config.get("pipeline", {}),
            "output_dir": str(tmp_path / "outputs" / "pipeline"),
            **(pipeline or {}),
        },
    }
    return Project.load(root, config, os.environ if environ is None else environ)
