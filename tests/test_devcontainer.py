"""devcontainer.json against the devcontainer spec schema and the features' option metadata, and the
shell scripts through ShellCheck (vendored schemas: tests/schemas/README.md)."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
from pathlib import Path

import json5
import pytest
import yaml
from external_tools import check_jsonschema, shellcheck
from project_tasks import load_project_tasks

ROOT = Path(__file__).resolve().parents[1]
DEVCONTAINER = ROOT / ".devcontainer" / "devcontainer.json"
SCHEMAS = ROOT / "tests" / "schemas"
FEATURE_METADATA = SCHEMAS / "devcontainer-features"
ENV_NAME = yaml.safe_load((ROOT / "environment.yml").read_text())["name"]
SECRETS = (
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_RESOURCE_GROUP",
    "AZUREML_WORKSPACE_NAME",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
)
# Every shell script in the project: lifecycle scripts, stand-ins, set-up and CI scripts.
SHELL_SCRIPTS = sorted(
    [
        *ROOT.glob(".devcontainer/*.sh"),
        *(ROOT / "tests" / "bin").iterdir(),
        *ROOT.glob("scripts/*.sh"),
        *ROOT.glob(".ci/run"),
    ]
)


@pytest.fixture(scope="module")
def config() -> dict:
    return json5.loads(DEVCONTAINER.read_text())


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    schema = SCHEMAS / "devcontainer" / "devContainer.schema.json"
    argv = [*check_jsonschema(), "--schemafile", str(schema), "--force-filetype", "json5"]
    return subprocess.run([*argv, str(path)], capture_output=True, text=True, timeout=120)


def feature_metadata(reference: str) -> dict:
    match = re.fullmatch(r"ghcr\.io/devcontainers/features/([a-z0-9-]+):(\d+)", reference)
    assert match, f"{reference}: use an official feature with a major version tag"
    path = FEATURE_METADATA / f"{match[1]}.json"
    assert path.exists(), f"{reference}: no vendored metadata at {path.relative_to(ROOT)}"
    metadata = json.loads(path.read_text())
    assert metadata["version"].split(".")[0] == match[2], f"{reference}: metadata is another major"
    return metadata


# --- the spec schema -------------------------------------------------------------------------


def test_devcontainer_json_is_valid_against_the_spec_schema():
    done = validate(DEVCONTAINER)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_rejects_a_broken_devcontainer_json(tmp_path, config):
    broken = dict(config, hostRequirements={"memory": "8 GB"}, forwardPorts=["five thousand"])
    path = tmp_path / "devcontainer.json"
    path.write_text(json.dumps(broken))

    done = validate(path)

    assert done.returncode != 0
    assert "hostRequirements" in done.stdout + done.stderr


# --- the features and their options ----------------------------------------------------------


def test_every_feature_option_is_one_the_feature_declares_with_the_right_type(config):
    types = {"string": str, "boolean": bool}
    for reference, options in config["features"].items():
        declared = feature_metadata(reference)["options"]
        for name, value in options.items():
            assert name in declared, f"{reference} has no option {name!r}: {sorted(declared)}"
            assert isinstance(value, types[declared[name]["type"]]), f"{reference} {name}"
            if "enum" in declared[name]:
                assert value in declared[name]["enum"], f"{reference} {name}={value!r}"


def test_the_azure_cli_feature_installs_the_ml_extension(config):
    options = config["features"]["ghcr.io/devcontainers/features/azure-cli:1"]
    assert "ml" in [e.strip() for e in options["extensions"].split(",")]


def test_the_github_cli_is_installed(config):
    feature_metadata("ghcr.io/devcontainers/features/github-cli:1")
    assert "ghcr.io/devcontainers/features/github-cli:1" in config["features"]


LIFECYCLE_SCRIPTS = ("on-create", "update-content", "post-create")
# Who provides each tool the lifecycle scripts call: the image or a feature.
TOOL_PROVIDERS = {
    "conda": "mcr.microsoft.com/devcontainers/miniconda:",
    "az": "ghcr.io/devcontainers/features/azure-cli:",
    "gh": "ghcr.io/devcontainers/features/github-cli:",
    "npm": "ghcr.io/devcontainers/features/node:",
}


def test_every_tool_the_lifecycle_scripts_call_comes_with_the_image_or_a_feature(config):
    scripts = "".join((ROOT / ".devcontainer" / f"{n}.sh").read_text() for n in LIFECYCLE_SCRIPTS)
    called = {tool for tool in TOOL_PROVIDERS if re.search(rf"(^|[\s(]){tool} ", scripts, re.M)}
    assert {"conda", "az", "npm"} <= called
    provided = [config["image"], *config["features"]]
    missing = [t for t in called if not any(p.startswith(TOOL_PROVIDERS[t]) for p in provided)]
    assert not missing, f"the scripts call {missing}, which neither the image nor a feature brings"


def test_terminals_find_the_environment_where_the_conda_image_creates_it(config):
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())["name"]
    # The miniconda image installs conda under /opt/conda; `conda env create` puts envs there.
    assert config["remoteEnv"]["PATH"].startswith(f"/opt/conda/envs/{environment}/bin:")


# --- lifecycle: prebuild-cached work versus the per-user login ------------------------------


def lifecycle_script(config: dict, key: str) -> str:
    match = re.fullmatch(r"bash (\.devcontainer/[\w-]+\.sh)", config[key])
    assert match, f"{key} should run one script: {config[key]!r}"
    path = ROOT / match[1]
    assert path.exists(), f"{key} runs {match[1]}, which does not exist"
    return path.read_text()


def test_the_environment_is_built_in_a_step_that_prebuilds_run(config):
    prebuilt = lifecycle_script(config, "onCreateCommand") + lifecycle_script(
        config, "updateContentCommand"
    )
    for needed in ("conda env create", "pre-commit install", "ipykernel install", "az extension"):
        assert needed in prebuilt, f"{needed!r} belongs in onCreate/updateContent (prebuild-cached)"
    assert "az login" not in prebuilt  # secrets do not exist in a prebuild


def test_the_azure_login_happens_after_create_where_secrets_exist(config):
    post_create = lifecycle_script(config, "postCreateCommand")
    assert "az login --service-principal" in post_create
    assert "az configure --defaults" in post_create


def test_the_scripts_and_settings_use_the_environment_from_environment_yml(config):
    update = lifecycle_script(config, "updateContentCommand")
    assert f"ENV_NAME={ENV_NAME}\n" in update
    assert "--file environment.yml" in update
    env_bin = f"/opt/conda/envs/{ENV_NAME}/bin"
    assert config["remoteEnv"]["PATH"].startswith(env_bin + ":")
    settings = config["customizations"]["vscode"]["settings"]
    assert settings["python.defaultInterpreterPath"] == f"{env_bin}/python"


def test_the_jupyter_kernel_is_named_after_the_environment(config):
    update = lifecycle_script(config, "updateContentCommand")
    assert 'ipykernel install --user --name "$ENV_NAME"' in update


# --- what the user sees ----------------------------------------------------------------------


def test_the_six_azure_secrets_are_recommended_with_a_description_and_a_link(config):
    assert sorted(config["secrets"]) == sorted(SECRETS)
    for name, meta in config["secrets"].items():
        assert meta["description"].strip(), name
        assert meta["documentationUrl"].startswith("https://"), name


def test_the_mlflow_ui_port_is_forwarded_and_labelled(config):
    assert 5000 in config["forwardPorts"]
    assert "MLflow" in config["portsAttributes"]["5000"]["label"]


def test_the_forwarded_port_is_the_one_invoke_ui_serves_on(config):
    tasks = load_project_tasks()
    ui = inspect.signature(tasks.ui.body).parameters
    assert ui["port"].default in config["forwardPorts"]
    # VS Code and Codespaces forward from inside the container, so loopback is reachable through
    # the forwarded port, and nobody else on the network reaches the unauthenticated UI.
    assert ui["host"].default == "127.0.0.1"
    serve = inspect.signature(tasks.serve.body).parameters
    assert serve["port"].default in config["forwardPorts"]
    assert "invoke serve" in config["portsAttributes"][str(serve["port"].default)]["label"]


def test_the_editor_extensions_are_recommended(config):
    extensions = config["customizations"]["vscode"]["extensions"]
    for needed in (
        "ms-python.python",
        "ms-toolsai.jupyter",
        "ms-toolsai.vscode-ai",
        "ms-vscode.azurecli",
        "github.vscode-github-actions",
    ):
        assert needed in extensions


def test_host_requirements_ask_for_a_machine_that_builds_the_environment(config):
    host = config["hostRequirements"]
    assert host["cpus"] >= 4
    assert int(host["memory"].removesuffix("gb")) >= 8


# --- shell scripts ---------------------------------------------------------------------------


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shell_script_passes_shellcheck(script):
    done = subprocess.run(
        [*shellcheck(), "--external-sources", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_shellcheck_catches_a_mistake(tmp_path):
    script = tmp_path / "bad.sh"
    script.write_text("#!/usr/bin/env bash\nrm -rf $1/*\n")
    done = subprocess.run([*shellcheck(), str(script)], capture_output=True, text=True)
    assert done.returncode != 0
    assert "SC2086" in done.stdout


def test_lifecycle_scripts_are_executable():
    for script in ROOT.glob(".devcontainer/*.sh"):
        assert script.stat().st_mode & 0o111, f"{script.name} is not executable (chmod +x)"


def test_the_environment_never_asks_for_anacondas_default_channels():
    # conda in the image refuses the default channels non-interactively until their terms are
    # accepted; an environment.yml without `nodefaults` would stop the codespace from building.
    channels = yaml.safe_load((ROOT / "environment.yml").read_text())["channels"]
    assert "nodefaults" in channels
    assert not {"defaults", "main", "anaconda"} & set(channels)


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_readme_has_the_codespaces_button_and_a_row_for_every_recommended_secret(config):
    section = readme_section("Open in GitHub Codespaces")
    assert "](https://codespaces.new/" in section
    assert "https://github.com/codespaces/badge.svg" in section
    for name in config["secrets"]:
        assert f"| `{name}` |" in section, f"README's secrets table lacks {name}"


def test_the_readme_troubleshoots_the_known_failures():
    section = readme_section("CI/CD with GitHub Actions")
    for symptom in ("az extension add --name ml", "--use-device-code", "AADSTS700024"):
        assert symptom in section
