"""The project a task or a notebook works in: its root, its settings, and its Azure ML specs,
read once from invoke.yaml, config.json, the environment and the flags, then passed down."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diabetes_model.azure.settings import AzureSettings, DeploySettings, read_config_json
from diabetes_model.console import shown
from diabetes_model.settings import PipelineSettings, Settings

SPECS_FOLDER = "azureml"


@dataclass(frozen=True)
class Specs:
    """The Azure ML YAML specs (azureml/), each path resolved once."""

    folder: Path

    @property
    def train(self) -> Path:
        return self.folder / "train.yml"

    @property
    def sweep(self) -> Path:
        return self.folder / "sweep.yml"

    @property
    def data(self) -> Path:
        return self.folder / "data.yml"

    @property
    def pipeline(self) -> Path:
        return self.folder / "pipeline.yml"

    @property
    def environment(self) -> Path:
        return self.folder / "environment.yml"

    @property
    def compute(self) -> Path:
        return self.folder / "compute.yml"

    # copier: deploy-begin (the online endpoint and its monitor)
    @property
    def endpoint(self) -> Path:
        return self.folder / "endpoint.yml"

    @property
    def monitor(self) -> Path:
        return self.folder / "monitor.yml"

    def deployment(self, slot: str) -> Path:
        """The deployment spec of a blue/green slot (check the slot first)."""
        return self.folder / f"deployment-{slot}.yml"

    # copier: deploy-end


@dataclass(frozen=True)
class Project:
    """Root, settings and specs; everything a task hands to the package."""

    root: Path
    settings: Settings
    azure: AzureSettings
    deploy: DeploySettings
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)

    @classmethod
    def load(
        cls,
        root: Path,
        config: Mapping[str, Any],
        environ: Mapping[str, str],
        flags: Mapping[str, Any] | None = None,
        azure_flags: Mapping[str, Any] | None = None,
    ) -> Project:
        """`config` is invoke's configuration (invoke.yaml with INVOKE_* applied): its `project`,
        `azure`, `deploy` and `pipeline` sections. Bad settings are a UserError naming where
        they are."""
        settings = Settings.from_sources(_section(config, "project"), environ, flags)
        azure = AzureSettings.from_sources(
            _section(config, "azure"), environ, azure_flags, read_config_json(root)
        )
        deploy = DeploySettings.from_config(_section(config, "deploy"))
        pipeline = PipelineSettings.from_config(_section(config, "pipeline"))
        return cls(root, settings.resolve(root), azure, deploy, pipeline)

    @property
    def specs(self) -> Specs:
        return Specs(self.root / SPECS_FOLDER)

    @property
    def data_path(self) -> Path:
        return Path(self.settings.data_path)

    @property
    def tracking_uri(self) -> str:
        return self.settings.tracking_uri_for(self.root)

    def path(self, relative: str) -> Path:
        """A configured path (an output folder, say), resolved against the project root."""
        path = Path(relative)
        return path if path.is_absolute() else self.root / path

    def shown(self, path: Path | str) -> str:
        return shown(path, self.root)


def _section(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    section = config.get(name) or {}
    return dict(section) if isinstance(section, Mapping) else section


def write_project_settings(path: Path, values: Mapping[str, Any]) -> None:
    """Set keys of invoke.yaml's `project:` section in place, keeping comments and every other
    line; a key that is not there is added at the end of the section. Written whole or not."""
    import os
    import re
    import tempfile

    import yaml

    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    top_level = [i for i, line in enumerate(lines) if re.match(r"[^\s#]", line)]
    try:
        start = next(i for i in top_level if lines[i].rstrip() == "project:")
    except StopIteration:
        lines.append("project:\n")
        start = len(lines) - 1
    end = next((i for i in top_level if i > start), len(lines))
    for key, value in values.items():
        text = yaml.safe_dump(value, default_flow_style=True, width=1 << 20, allow_unicode=True)
        line = f"  {key}: {text.strip().removesuffix('...').strip()}\n"
        found = [i for i in range(start + 1, end) if re.match(rf"  {re.escape(key)}:", lines[i])]
        if found:
            at = found[0]
            stop = at + 1  # a block list under the key goes with it
            while stop < end and re.match(r"\s{2,}- ", lines[stop]):
                stop += 1
            lines[at:stop] = [line]
            end -= stop - at - 1
        else:
            lines.insert(end, line)
            end += 1
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.writelines(lines)
    os.replace(temporary, path)
