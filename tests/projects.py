"""A `Project` for tests: the repository's own specs, with settings and outputs where a test puts them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from diabetes_model.project import Project

ROOT = Path(__file__).resolve().parents[1]


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
    import yaml

    yaml_config = yaml.safe_load((ROOT / "invoke.yaml").read_text())
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
