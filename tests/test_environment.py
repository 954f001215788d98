"""One source of pins, split in two: environment.yml holds the runtime pins (what jobs and the endpoint
run, and what pyproject.toml's dependencies repeat), pyproject.toml's `dev` extra the development tools."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
# Tools that only development needs (tests, lint, hooks, notebooks): never in the job or endpoint image.
DEVELOPMENT_TOOLS = (
    "check-jsonschema",
    "copier",
    "detect-secrets",
    "ipykernel",
    "nbclient",
    "nbstripout",
    "pre-commit",
    "pytest",
    "ruff",
)


def pins(requirements: list[str]) -> dict[str, str]:
    found = {}
    for line in requirements:
        requirement = Requirement(line)
        [spec] = list(requirement.specifier)
        assert spec.operator == "==", f"{line} is not an exact pin"
        found[re.sub(r"[-_.]+", "-", requirement.name.lower())] = spec.version
    return found


def project_table(text: str | None = None) -> dict:
    return tomllib.loads(text or (ROOT / "pyproject.toml").read_text())["project"]


def runtime_pins() -> dict[str, str]:
    return pins(project_table()["dependencies"])


def dev_pins(pyproject_text: str | None = None) -> dict[str, str]:
    return pins(project_table(pyproject_text)["optional-dependencies"]["dev"])


def pyproject_pins() -> dict[str, str]:
    return runtime_pins() | dev_pins()


def conda_spec(path: Path = ROOT / "environment.yml") -> tuple[dict[str, str], str]:
    environment = yaml.safe_load(path.read_text())
    pip_section = next(item for item in environment["dependencies"] if isinstance(item, dict))
    python = next(item for item in environment["dependencies"] if str(item).startswith("python="))
    return pins(pip_section["pip"]), python.split("=", 1)[1]


def test_environment_yml_pins_exactly_the_runtime_dependencies_of_pyproject():
    conda_pins, _ = conda_spec()
    assert conda_pins == runtime_pins()


def test_no_development_tool_is_in_the_runtime_environment():
    conda_pins, _ = conda_spec()
    assert not set(conda_pins) & set(dev_pins()), "a pin of the dev extra is in environment.yml"
    assert not set(conda_pins) & set(DEVELOPMENT_TOOLS)


def test_the_dev_extra_pins_every_development_tool_exactly():
    # pins() refuses anything but `==`; the tools the lint, tests and notebooks run are all there.
    assert set(DEVELOPMENT_TOOLS) <= set(dev_pins())
    assert not set(dev_pins()) & set(runtime_pins()), "a package is pinned in both places"


def test_a_dev_extra_with_a_range_is_refused():
    import pytest

    text = (ROOT / "pyproject.toml").read_text()
    head, dev = text.split("\ndev = [", 1)
    loosened = head + "\ndev = [" + dev.replace("==", ">=", 1)
    with pytest.raises(AssertionError, match=r">=.* is not an exact pin"):
        dev_pins(loosened)


def test_the_azure_ml_environment_builds_from_the_runtime_pins_only():
    from azure.ai.ml import load_environment

    # The conda file as the SDK reads it from the spec: what Azure ML builds the image from.
    environment = load_environment(source=ROOT / "azureml" / "environment.yml")
    pip_section = next(d for d in environment.conda_file["dependencies"] if isinstance(d, dict))
    image_pins = pins(pip_section["pip"])
    assert image_pins == runtime_pins()
    assert not set(image_pins) & set(dev_pins())


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
