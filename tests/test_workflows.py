"""The GitHub Actions workflows and dependabot.yml: actionlint, the schemas check-jsonschema ships,
and the rules this project sets (least privilege, concurrency, timeouts, OIDC, the same invoke tasks
that people run)."""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml
from external_tools import actionlint, check_jsonschema, shellcheck
from project_tasks import load_project_tasks

from diabetes_model.workstation import github_secrets

ROOT = Path(__file__).resolve().parents[1]
GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
AZURE_LOGIN = "azure/login@v3"
# The inputs and runtime of each action major in use, from its action.yml (see the file's header).
ACTIONS = yaml.safe_load((ROOT / "tests" / "schemas" / "github-actions.yml").read_text())


def load(path: Path) -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1); give it back its name.
    document = yaml.safe_load(path.read_text())
    if True in document:
        document["on"] = document.pop(True)
    return document


def workflow(name: str) -> dict:
    return load(GITHUB / "workflows" / name)


def steps(document: dict) -> list[dict]:
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def run_lines(document: dict) -> list[str]:
    return [line.strip() for step in steps(document) for line in step.get("run", "").splitlines()]


def index_of(document: dict, predicate) -> int:
    found = [i for i, step in enumerate(steps(document)) if predicate(step)]
    assert found, "step not found"
    return found[0]


# --- the tools -------------------------------------------------------------------------------


def test_workflows_pass_actionlint():
    done = subprocess.run(
        [*actionlint(), ".github/workflows/*.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Checking {len(WORKFLOWS)} workflow file(s)" in done.stdout


def test_actionlint_catches_a_mistake(tmp_path):
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    shutil.copy(GITHUB / "workflows" / "train.yml", folder / "train.yml")
    # A context misspelt in an expression; a misspelt input is the action-inputs check's to catch.
    text = (folder / "train.yml").read_text()
    assert "${{ secrets.AZURE_CLIENT_ID" in text
    text = text.replace("${{ secrets.AZURE_CLIENT_ID", "${{ secretz.AZURE_CLIENT_ID", 1)
    (folder / "train.yml").write_text(text)

    done = subprocess.run(
        [*actionlint(), ".github/workflows/*.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode != 0
    assert "secretz" in done.stdout


def undeclared_inputs(step: dict) -> set[str]:
    # Input names are case-insensitive in GitHub Actions.
    declared = {name.lower() for name in ACTIONS[step["uses"]]["inputs"]}
    return {name for name in step.get("with", {}) if name.lower() not in declared}


def test_every_action_is_a_node24_major_whose_inputs_are_on_record():
    used = {step["uses"] for path in WORKFLOWS for step in steps(load(path)) if "uses" in step}
    missing = used - set(ACTIONS)
    assert not missing, f"add {sorted(missing)} to tests/schemas/github-actions.yml from action.yml"
    assert set(ACTIONS) == used, (
        f"tests/schemas/github-actions.yml lists unused {set(ACTIONS) - used}"
    )
    for reference, action in ACTIONS.items():
        assert action["using"] == "node24", f"{reference} runs on {action['using']}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_input_is_one_its_major_declares(path):
    for step in steps(load(path)):
        if "uses" in step:
            assert step["uses"] in ACTIONS, f"{path.name}: {step['uses']} is not on record"
            assert not undeclared_inputs(step), (
                f"{path.name}: {step['uses']} has no input {undeclared_inputs(step)}"
            )


def test_the_input_check_catches_a_typo_and_an_input_a_new_major_removed():
    login = {"uses": AZURE_LOGIN, "with": {"clientid": "x", "tenant-id": "y"}}
    assert undeclared_inputs(login) == {"clientid"}
    # setup-node took always-auth out in v6.
    node = {"uses": "actions/setup-node@v7", "with": {"node-version": "24", "always-auth": "true"}}
    assert undeclared_inputs(node) == {"always-auth"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_workflows_schema(path):
    argv = [*check_jsonschema(), "--builtin-schema", "vendor.github-workflows", str(path)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dependabot_matches_its_schema():
    argv = [*check_jsonschema(), "--builtin-schema", "vendor.dependabot"]
    done = subprocess.run(
        [*argv, str(GITHUB / "dependabot.yml")], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_dependabot_schema_check_rejects_an_unknown_ecosystem(tmp_path):
    broken = tmp_path / "dependabot.yml"
    broken.write_text(
        (GITHUB / "dependabot.yml")
        .read_text()
        .replace("package-ecosystem: pip", "package-ecosystem: pipx")
    )
    argv = [*check_jsonschema(), "--builtin-schema", "vendor.dependabot", str(broken)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_run_scripts_pass_shellcheck(path, tmp_path):
    # actionlint's WebAssembly build has no ShellCheck inside; check the run: blocks here, with
    # each ${{ expression }} replaced by a word, as actionlint itself does.
    scripts = [step["run"] for step in steps(load(path)) if "run" in step]
    for number, script in enumerate(scripts):
        body = re.sub(r"\$\{\{.*?\}\}", "EXPRESSION", script)
        file = tmp_path / f"step{number}.sh"
        file.write_text(f"#!/usr/bin/env bash\nset -eo pipefail\n{body}")
        done = subprocess.run([*shellcheck(), str(file)], capture_output=True, text=True)
        assert done.returncode == 0, f"{path.name} step {number}:\n{body}\n{done.stdout}"


# --- rules for every workflow ----------------------------------------------------------------


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_has_least_privilege_permissions_concurrency_and_timeouts(path):
    document = load(path)
    assert document["permissions"] == {"contents": "read"}, "default to read-only at the top"
    assert document["concurrency"]["group"]
    for name, job in document["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), f"{path.name}: {name} has no timeout"
        granted = job.get("permissions", document["permissions"])
        writes = {scope for scope, level in granted.items() if level == "write"}
        uses_login = any(step.get("uses") == AZURE_LOGIN for step in job.get("steps", []))
        needed = ({"id-token"} if uses_login else set()) | (
            {"actions"} if starts_training(job) else set()
        )
        assert writes == needed, f"{path.name}: {name} {writes}"


def starts_training(job: dict) -> bool:
    """Whether the job starts the Train workflow (`invoke drift --retrain`), which needs
    `actions: write`; no other job may have it."""
    lines = run_lines({"jobs": {"job": job}})
    return any(line.startswith("invoke drift") and "--retrain" in line for line in lines)


def test_the_permissions_rule_catches_actions_write_on_a_job_that_does_not_need_it(tmp_path):
    train = workflow("train.yml")
    train["jobs"]["train"]["permissions"]["actions"] = "write"
    broken = tmp_path / "train.yml"
    broken.write_text(yaml.safe_dump(train))
    with pytest.raises(AssertionError, match=r"train\.yml: train \{.*'actions'"):
        test_workflow_has_least_privilege_permissions_concurrency_and_timeouts(broken)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_azure_login_uses_oidc_ids_never_a_stored_credential(path):
    for step in steps(load(path)):
        if step.get("uses", "").startswith("azure/login"):
            assert step["uses"] == AZURE_LOGIN
            assert set(step["with"]) == {"client-id", "tenant-id", "subscription-id"}
            for key, value in step["with"].items():
                name = key.replace("-", "_").upper()
                name = f"AZURE_{name}" if not name.startswith("AZURE_") else name
                assert value == f"${{{{ secrets.{name} || vars.{name} }}}}", key


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_read_only_the_secrets_and_variables_that_invoke_github_secrets_sets(path):
    known = set(github_secrets.WORKFLOW_SECRETS) | set(github_secrets.WORKFLOW_VARIABLES)
    used = set(re.findall(r"\b(?:secrets|vars)\.([A-Z_]+)", path.read_text()))
    # AZURE_CREDENTIALS appears only in the comment that documents the non-OIDC fallback.
    assert used - {"AZURE_CREDENTIALS"} <= known
    code = "\n".join(
        line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")
    )
    assert "AZURE_CREDENTIALS" not in code


# --- ci.yml ----------------------------------------------------------------------------------


def test_ci_lints_and_tests_every_pull_request_and_push_without_azure():
    ci = workflow("ci.yml")
    assert {"pull_request", "push"} <= set(ci["on"])
    lines = run_lines(ci)
    assert 'python -m pip install -e ".[dev]"' in lines
    assert lines.index("invoke lint") < lines.index("invoke test")
    text = (GITHUB / "workflows" / "ci.yml").read_text()
    assert "azure/login" not in text and "secrets." not in text


def test_ci_caches_its_dependencies():
    ci = workflow("ci.yml")
    python = next(s for s in steps(ci) if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["cache"] == "pip"
    assert any(s.get("uses", "").startswith("actions/cache") for s in steps(ci))


def test_ci_installs_the_tools_the_tests_need():
    lines = run_lines(workflow("ci.yml"))
    assert "npm ci --prefix tests/tools --no-audit --no-fund" in lines
    assert any("apt-get install -y shellcheck" in line for line in lines)


# --- train.yml -------------------------------------------------------------------------------


def test_train_runs_on_push_to_main_and_on_demand():
    train = workflow("train.yml")
    assert train["on"]["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in train["on"]


def test_train_takes_tokens_right_after_login_before_the_long_wait():
    train = workflow("train.yml")
    login = index_of(train, lambda s: s.get("uses") == AZURE_LOGIN)
    tokens = index_of(train, lambda s: "az account get-access-token" in s.get("run", ""))
    submit = index_of(train, lambda s: "invoke pipeline --remote --stream" in s.get("run", ""))
    assert tokens == login + 1
    assert tokens < submit
    extension = index_of(train, lambda s: "az extension add --name ml" in s.get("run", ""))
    assert extension < submit


def test_train_runs_the_gated_pipeline_and_registers_nothing_past_its_gate():
    """The pipeline's register step registers only a model that passed evaluate; a separate
    `invoke register` would ship every model that trained."""
    train = workflow("train.yml")
    lines = run_lines(train)
    assert any(line.startswith("invoke pipeline --remote --stream --job-name") for line in lines)
    assert not any(line.startswith(("invoke register", "invoke train")) for line in lines)


# copier: deploy-begin (a project made without the deploy parts has neither workflow)
# --- deploy.yml ------------------------------------------------------------------------------


def test_deploy_runs_on_demand_or_after_a_successful_training_through_an_approved_environment():
    deploy = workflow("deploy.yml")
    assert "workflow_dispatch" in deploy["on"]
    run = deploy["on"]["workflow_run"]
    assert run["workflows"] == [workflow("train.yml")["name"]]
    assert run["types"] == ["completed"]
    job = deploy["jobs"]["deploy"]
    assert "github.event.workflow_run.conclusion == 'success'" in job["if"]
    assert job["environment"] == "production"
    assert any(line.startswith("invoke deploy") for line in run_lines(deploy))


def deploy_step() -> dict:
    deploy = workflow("deploy.yml")
    return steps(deploy)[index_of(deploy, lambda s: "invoke deploy" in s.get("run", ""))]


def test_after_train_deploy_ships_the_version_of_the_pipeline_job_train_submitted():
    """Train names its pipeline job after its run; Deploy, started by that run, derives the same
    name from github.event.workflow_run, so it deploys that job's version or nothing."""
    train_line = next(line for line in run_lines(workflow("train.yml")) if "--job-name" in line)
    name = re.search(r'--job-name "([^"]+)"', train_line)[1]
    assert name == "diabetes-model-pipeline-${GITHUB_RUN_ID}-${GITHUB_RUN_ATTEMPT}"
    step = deploy_step()
    expected = (
        "format('diabetes-model-pipeline-{0}-{1}', github.event.workflow_run.id, "
        "github.event.workflow_run.run_attempt)"
    )
    assert expected in step["env"]["PIPELINE_JOB"]
    assert "github.event_name == 'workflow_run'" in step["env"]["PIPELINE_JOB"]
    assert 'invoke deploy --pipeline-job "$PIPELINE_JOB"' in step["run"]


def test_deploy_offers_a_version_or_a_rollback_on_demand_and_never_skips_the_gate():
    inputs = workflow("deploy.yml")["on"]["workflow_dispatch"]["inputs"]
    assert inputs["model-version"]["type"] == "string"
    assert (inputs["rollback"]["type"], inputs["rollback"]["default"]) == ("boolean", False)
    step = deploy_step()
    assert step["env"]["ROLLBACK"] == "${{ inputs.rollback }}"
    lines = [line.strip() for line in step["run"].splitlines()]
    assert any(line.startswith("invoke deploy --rollback") for line in lines)
    assert 'invoke deploy ${MODEL_VERSION:+--model-version "$MODEL_VERSION"}' in lines
    assert "--skip-gate" not in step["run"]


# --- drift.yml -------------------------------------------------------------------------------


def test_drift_runs_daily_and_on_demand_and_starts_train_with_its_own_token():
    drift = workflow("drift.yml")
    assert [entry["cron"] for entry in drift["on"]["schedule"]] == ["30 4 * * *"]
    assert drift["on"]["workflow_dispatch"]["inputs"]["days"]["type"] == "number"
    job = drift["jobs"]["drift"]
    assert job["permissions"] == {"contents": "read", "id-token": "write", "actions": "write"}
    step = steps(drift)[index_of(drift, lambda s: "invoke drift" in s.get("run", ""))]
    assert step["run"] == 'invoke drift --remote --retrain --days "$DAYS"'
    assert step["env"]["GITHUB_TOKEN"] == "${{ github.token }}"  # not a stored token
    login = index_of(drift, lambda s: s.get("uses") == AZURE_LOGIN)
    assert login < index_of(drift, lambda s: "invoke drift" in s.get("run", ""))


def test_drift_starts_the_workflow_that_train_yml_is():
    from diabetes_model.workstation.github_actions import REF, TRAIN_WORKFLOW

    train = workflow(TRAIN_WORKFLOW)
    assert "workflow_dispatch" in train["on"]
    assert REF in train["on"]["push"]["branches"]


# copier: deploy-end


# --- one set of commands: the workflows call tasks that exist, with flags they take ---------


@cache
def task_flags() -> dict[str, set[str]]:
    module = load_project_tasks()
    from invoke import Collection

    collection = Collection.from_module(module)
    return {
        name: {
            f"--{n}" for arg in collection[name].get_arguments() for n in arg.names if len(n) > 1
        }
        for name in collection.task_names
    }


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_invoke_command_in_a_workflow_is_a_task_with_those_flags(path):
    calls = [
        re.match(r"invoke ([\w-]+)(.*)", line)
        for line in run_lines(load(path))
        if line.startswith("invoke ")
    ]
    assert calls, f"{path.name} calls no invoke task"
    for call in calls:
        name, rest = call[1], call[2]
        assert name in task_flags(), f"{path.name}: no task {name!r} in tasks.py"
        flags = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", rest))
        assert flags <= task_flags()[name], (
            f"{path.name}: invoke {name} has no {flags - task_flags()[name]}"
        )


def test_dependabot_updates_pip_actions_and_the_devcontainer():
    updates = load(GITHUB / "dependabot.yml")["updates"]
    assert {"pip", "github-actions", "devcontainers"} <= {u["package-ecosystem"] for u in updates}


def test_every_invoke_command_in_the_readme_sections_on_codespaces_and_ci_exists():
    text = (ROOT / "README.md").read_text()
    start = text.index("\n## Open in GitHub Codespaces\n")
    end = text.index("\n## ", text.index("\n## CI/CD with GitHub Actions\n") + 1)
    commands = re.findall(r"invoke ([a-z][\w-]*)((?: --[a-z][\w-]*)*)", text[start:end])
    assert {name for name, _ in commands} >= {"doctor", "login", "github-secrets"}
    for name, flags in commands:
        assert name in task_flags(), f"README: no task {name!r}"
        assert set(flags.split()) <= task_flags()[name], f"README: invoke {name}{flags}"
