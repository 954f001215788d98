"""One environment of record: environment.yml and pyproject.toml pin the same versions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]


def pins(requirements: list[str]) -> dict[str, str]:
    found = {}
    for line in requirements:
        requirement = Requirement(line)
        [spec] = list(requirement.specifier)
        assert spec.operator == "==", f"{line} is not an exact pin"
        found[re.sub(r"[-_.]+", "-", requirement.name.lower())] = spec.version
    return found


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return pins(project["dependencies"] + project["optional-dependencies"]["dev"])


def conda_spec() -> tuple[dict[str, str], str]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(item for item in environment["dependencies"] if isinstance(item, dict))
    python = next(item for item in environment["dependencies"] if str(item).startswith("python="))
    return pins(pip_section["pip"]), python.split("=", 1)[1]


def test_environment_yml_and_pyproject_pin_the_same_versions():
    conda_pins, _ = conda_spec()
    assert conda_pins == pyproject_pins()


def test_the_conda_python_satisfies_requires_python():
    _, python = conda_spec()
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert python in SpecifierSet(requires)


def test_pre_commit_hooks_use_the_pinned_tool_versions():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    pinned = pyproject_pins()
    for repo in config["repos"]:
        for hook in repo["hooks"]:
            for dependency in pins(hook.get("additional_dependencies", [])).items():
                name, version = dependency
                if name in pinned:
                    assert pinned[name] == version, f"hook {hook['id']} pins {name}=={version}"


def test_a_range_instead_of_an_exact_pin_is_refused():
    import pytest

    with pytest.raises(AssertionError, match=r"not an exact pin"):
        pins(["mlflow>=3"])


def test_every_pre_commit_hook_installs_from_pypi():
    # Hook repositories are cloned from GitHub, which is not always reachable; local python hooks
    # install their additional_dependencies from PyPI instead.
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    for repo in config["repos"]:
        assert repo["repo"] == "local"
        for hook in repo["hooks"]:
            assert hook["language"] == "python", hook["id"]
            assert hook.get("additional_dependencies"), hook["id"]
    hook_ids = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert {
        "ruff-check",
        "ruff-format",
        "nbstripout",
        "check-yaml",
        "check-json",
        "check-toml",
    } <= hook_ids
    assert "detect-secrets" in hook_ids
