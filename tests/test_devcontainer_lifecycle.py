"""The devcontainer lifecycle scripts, run with stand-ins for az, conda, gh, npm and sudo."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest
import yaml
from standins import FAKE_SECRETS, Standins, make

from diabetes_model.workstation.doctor import GUID_SECRETS

ROOT = Path(__file__).resolve().parents[1]
ENV_NAME = yaml.safe_load((ROOT / "environment.yml").read_text())["name"]
IN_ENV = ["conda", "run", "--no-capture-output", "--name", ENV_NAME]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of what the scripts read: .devcontainer/ and environment.yml."""
    copy = tmp_path / "project"
    shutil.copytree(ROOT / ".devcontainer", copy / ".devcontainer")
    shutil.copy(ROOT / "environment.yml", copy / "environment.yml")
    return copy


@pytest.fixture
def standins(tmp_path: Path) -> Standins:
    return make(tmp_path)


def run_script(standins: Standins, project: Path, name: str, **env: str):
    return standins.run(["bash", f".devcontainer/{name}"], cwd=project, **env)


def argv(command: str) -> list[str]:
    return shlex.split(command)


# What must never be shown: the client secret, and the ids (GUIDs). The resource group and the
# workspace are names, not secrets: they may be shown, and must not be cut out of other words.
SECRET_NAMES = ("AZURE_CLIENT_SECRET", *GUID_SECRETS)


def assert_no_secret_in(text: str) -> None:
    for name in SECRET_NAMES:
        assert FAKE_SECRETS[name] not in text, f"the value of {name} reached the output"


# Wraps the stand-in az: like the real one, it reads an argument written `@-` from its standard
# input, and it notes whether that was the client secret. It can also fail `az configure` with
# a message, as the real one can.
AZ_READING_STDIN = """#!/usr/bin/env bash
for arg in "$@"; do
    if [[ $arg == *=@- || $arg == @- ]]; then
        given=$(cat)  # az drops a trailing newline too
        if [[ $given == "$AZURE_CLIENT_SECRET" ]]; then verdict=secret; else verdict=other; fi
        printf '%s\\n' "$verdict" >>"$STANDIN_STATE/az-stdin"
    fi
done
"{real}" "$@" || exit
if [[ $1 == configure && -n ${STANDIN_AZ_CONFIGURE_ERROR:-} ]]; then
    printf '%s\\n' "$STANDIN_AZ_CONFIGURE_ERROR" >&2
    exit 1
fi
"""


@pytest.fixture
def az_reading_stdin(standins: Standins) -> Standins:
    wrapper = standins.bin / "az"
    real = wrapper.resolve()
    wrapper.unlink()
    wrapper.write_text(AZ_READING_STDIN.replace("{real}", str(real)))
    wrapper.chmod(0o755)
    return standins


# --- on-create.sh: the az ml extension -------------------------------------------------------


def test_on_create_installs_the_ml_extension_when_the_feature_skipped_it(standins, project):
    done = run_script(standins, project, "on-create.sh")

    assert done.returncode == 0, done.stderr
    assert argv("az extension add --name ml --yes --output none") in standins.calls()
    assert standins.has_state("az-ml")
    assert "installed" in done.stdout


def test_on_create_leaves_an_installed_ml_extension_alone(standins, project):
    standins.set_state("az-ml")

    done = run_script(standins, project, "on-create.sh")

    assert done.returncode == 0, done.stderr
    assert [c for c in standins.calls("az") if c[1:3] == ["extension", "add"]] == []


def test_on_create_warns_but_succeeds_when_the_install_fails(standins, project):
    done = run_script(standins, project, "on-create.sh", STANDIN_AZ_EXTENSION_ADD_FAILS="1")

    assert done.returncode == 0
    assert "az extension add --name ml --yes" in done.stderr


def test_on_create_warns_when_the_azure_cli_is_missing(tmp_path, project):
    standins = make(tmp_path, tools=("conda", "gh", "npm", "sudo"))

    done = run_script(standins, project, "on-create.sh")

    assert done.returncode == 0
    assert "Azure CLI is not installed" in done.stderr


def test_on_create_installs_shellcheck_for_the_tests_when_it_is_missing(standins, project):
    run_script(standins, project, "on-create.sh")

    assert argv("sudo apt-get install -y -qq shellcheck") in standins.calls()


# --- update-content.sh: environment, project, hooks, kernel ---------------------------------


def test_update_content_creates_the_environment_then_installs_project_hooks_and_kernel(
    standins, project
):
    done = run_script(standins, project, "update-content.sh")

    assert done.returncode == 0, done.stderr
    conda_calls = standins.calls("conda")
    create = conda_calls.index(argv(f"conda env create --name {ENV_NAME} --file environment.yml"))
    # environment.yml has the runtime pins only: the dev extra brings the tools the next steps run.
    install = conda_calls.index([*IN_ENV, *argv('python -m pip install --editable ".[dev]"')])
    hooks = conda_calls.index([*IN_ENV, *argv("pre-commit install --install-hooks")])
    kernel = [*IN_ENV, *argv(f"python -m ipykernel install --user --name {ENV_NAME}")]
    kernels = [i for i, call in enumerate(conda_calls) if call[: len(kernel)] == kernel]
    assert kernels, "the Jupyter kernel is not registered"
    assert create < install < hooks and install < kernels[0]
    assert argv("npm ci --prefix tests/tools --no-audit --no-fund") in standins.calls()


def test_update_content_updates_an_existing_environment_and_activates_it_once(standins, project):
    standins.set_state("conda-env")

    for _ in range(2):
        done = run_script(standins, project, "update-content.sh")
        assert done.returncode == 0, done.stderr

    conda_calls = standins.calls("conda")
    update = argv(f"conda env update --name {ENV_NAME} --file environment.yml --prune")
    assert conda_calls.count(update) == 2
    assert not any(call[1:3] == ["env", "create"] for call in conda_calls)
    # --prune may remove the development tools (they are not in environment.yml): each update is
    # followed by the install of the dev extra that brings them back.
    install = [*IN_ENV, *argv('python -m pip install --editable ".[dev]"')]
    updates = [i for i, call in enumerate(conda_calls) if call == update]
    installs = [i for i, call in enumerate(conda_calls) if call == install]
    assert len(installs) == 2 and all(u < i for u, i in zip(updates, installs, strict=True))
    bashrc = (standins.home / ".bashrc").read_text().splitlines()
    activate = f". /opt/conda/etc/profile.d/conda.sh && conda activate {ENV_NAME}"
    assert bashrc.count(activate) == 1


def test_update_content_fails_loudly_when_the_environment_cannot_be_built(tmp_path, project):
    standins = make(tmp_path, tools=("az", "gh", "npm", "sudo"))  # no conda at all

    done = run_script(standins, project, "update-content.sh")

    assert done.returncode != 0


# --- post-create.sh: login from the Codespaces secrets --------------------------------------


def test_post_create_logs_in_with_the_service_principal_and_sets_the_defaults(standins, project):
    s = FAKE_SECRETS
    done = run_script(standins, project, "post-create.sh", **s)

    assert done.returncode == 0, done.stderr
    assert standins.calls("az") == [
        [
            "az", "login", "--service-principal", "--username", s["AZURE_CLIENT_ID"],
            "--password=@-", "--tenant", s["AZURE_TENANT_ID"], "--output", "none",
        ],
        ["az", "account", "set", "--subscription", s["AZURE_SUBSCRIPTION_ID"], "--output", "none"],
        [
            "az", "configure", "--defaults", f"group={s['AZURE_RESOURCE_GROUP']}",
            f"workspace={s['AZUREML_WORKSPACE_NAME']}", "--output", "none",
        ],
    ]  # fmt: skip
    assert "logged in" in done.stdout
    assert_no_secret_in(done.stdout + done.stderr)


def test_post_create_gives_az_the_client_secret_on_stdin_never_in_its_arguments(
    az_reading_stdin, project, tmp_path
):
    """`ps` shows every process's arguments to every user while it runs; stdin it does not."""
    standins = az_reading_stdin
    done = run_script(standins, project, "post-create.sh", TMPDIR=str(tmp_path), **FAKE_SECRETS)

    assert done.returncode == 0, done.stderr
    secret = FAKE_SECRETS["AZURE_CLIENT_SECRET"]
    login = standins.calls("az")[0]
    assert login[:2] == ["az", "login"] and "--password=@-" in login
    assert not any(secret in arg for call in standins.calls() for arg in call)
    assert (standins.state / "az-stdin").read_text() == "secret\n"
    # Nothing was written in clear on the way (a here-string can go through a temporary file).
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_post_create_blanks_out_only_secret_values_not_names_or_parts_of_words(
    az_reading_stdin, project
):
    names = {**FAKE_SECRETS, "AZURE_RESOURCE_GROUP": "rg", "AZUREML_WORKSPACE_NAME": "ml"}
    error = (
        "ERROR: unrecognized args for group rg and workspace ml "
        f"(subscription {FAKE_SECRETS['AZURE_SUBSCRIPTION_ID']})"
    )
    done = run_script(
        az_reading_stdin, project, "post-create.sh", STANDIN_AZ_CONFIGURE_ERROR=error, **names
    )

    assert done.returncode == 0
    assert "unrecognized args for group rg and workspace ml (subscription ***)" in done.stderr
    assert_no_secret_in(done.stdout + done.stderr)


def test_post_create_without_secrets_warns_and_never_fails(standins, project):
    done = run_script(standins, project, "post-create.sh")

    assert done.returncode == 0
    assert standins.calls("az") == []
    for name in FAKE_SECRETS:
        if name != "AZURE_SUBSCRIPTION_ID":
            assert name in done.stderr
    assert "invoke login" in done.stderr


def test_post_create_without_the_client_secret_does_not_try_to_log_in(standins, project):
    partial = {k: v for k, v in FAKE_SECRETS.items() if k != "AZURE_CLIENT_SECRET"}

    done = run_script(standins, project, "post-create.sh", **partial)

    assert done.returncode == 0
    assert not any(call[1] == "login" for call in standins.calls("az"))
    assert "AZURE_CLIENT_SECRET" in done.stderr
    assert standins.calls("az")[0][:3] == ["az", "configure", "--defaults"]
    assert_no_secret_in(done.stdout + done.stderr)


def test_post_create_reports_a_failed_login_with_the_secrets_blanked_out(standins, project):
    failing = {"STANDIN_AZ_LOGIN_FAILS": "1", **FAKE_SECRETS}
    done = run_script(standins, project, "post-create.sh", **failing)

    assert done.returncode == 0
    assert "AADSTS7000215" in done.stderr  # az's own reason reaches the user...
    assert_no_secret_in(done.stdout + done.stderr)  # ...with the ids in it replaced
    assert not any(call[1:3] == ["account", "set"] for call in standins.calls("az"))


def test_post_create_warns_when_the_azure_cli_is_missing(tmp_path, project):
    standins = make(tmp_path, tools=("conda", "gh", "npm", "sudo"))

    done = run_script(standins, project, "post-create.sh", **FAKE_SECRETS)

    assert done.returncode == 0
    assert "Azure CLI is not installed" in done.stderr
    assert_no_secret_in(done.stdout + done.stderr)


def test_update_content_carries_on_when_the_test_tools_cannot_be_installed(standins, project):
    done = run_script(standins, project, "update-content.sh", STANDIN_NPM_FAILS="1")

    assert done.returncode == 0, done.stderr
    assert "npm ci --prefix tests/tools" in done.stdout
    assert (standins.home / ".bashrc").exists()  # the steps after it still ran
