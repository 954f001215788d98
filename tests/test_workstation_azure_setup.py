"""`invoke azure-setup`: the template it deploys, the names and credentials it works out, and what
it runs, in order, against the stand-in az and gh (tests/bin): created once, reused after."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from invoke import Config, Exit, MockContext, Result
from project_tasks import load_project_tasks
from standins import FAKE_SECRETS, Standins, make

from diabetes_model.errors import UserError
from diabetes_model.workstation import azure_setup
from diabetes_model.workstation import azure_setup_plan as plan
from diabetes_model.workstation.az import Az
from diabetes_model.workstation.azure_setup_plan import Cluster, Target

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "infra" / "main.json"
REPO = "octo/diabetes"
# Reads only: what a dry run may call.
READS = {
    ("account", "show"),
    ("group", "show"),
    ("resource", "show"),
    ("ad", "app", "list"),
    ("ad", "sp", "list"),
    ("ad", "app", "federated-credential", "list"),
    ("role", "assignment", "list"),
}
GUIDS = [
    FAKE_SECRETS[name] for name in ("AZURE_SUBSCRIPTION_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_ID")
]


def target(**changes) -> Target:
    values = {
        "resource_group": FAKE_SECRETS["AZURE_RESOURCE_GROUP"],
        "workspace": FAKE_SECRETS["AZUREML_WORKSPACE_NAME"],
        "location": "eastus",
        "repo": REPO,
        "app_name": "diabetes-model-github",
        "cluster": Cluster.from_spec(ROOT / "azureml" / "compute.yml"),
        "template": TEMPLATE,
        **changes,
    }
    return Target(**values)


@pytest.fixture
def standins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Standins:
    """The stand-in az and gh on PATH, logged in, handing out the fake ids."""
    standins = make(tmp_path, tools=("az", "gh"))
    for name, value in standins.env().items():
        monkeypatch.setenv(name, value)
    for name in FAKE_SECRETS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STANDIN_AZ_SUBSCRIPTION", FAKE_SECRETS["AZURE_SUBSCRIPTION_ID"])
    monkeypatch.setenv("STANDIN_AZ_TENANT", FAKE_SECRETS["AZURE_TENANT_ID"])
    monkeypatch.setenv("STANDIN_AZ_APP_ID", FAKE_SECRETS["AZURE_CLIENT_ID"])
    monkeypatch.setenv("STANDIN_AZ_SP_ID", "00000000-0000-0000-0000-00000000dddd")
    standins.set_state("az-logged-in")
    return standins


def run(dry_run: bool = False, **changes) -> list[str]:
    lines: list[str] = []
    azure_setup.setup(target(**changes).check(), Az(), say=lines.append, dry_run=dry_run)
    return lines


def command(call: list[str]) -> tuple[str, ...]:
    """The az sub-command of a call: its words before the first flag."""
    words = []
    for word in call[1:]:
        if word.startswith("-"):
            break
        words.append(word)
    return tuple(words)


def changes_calls(standins: Standins) -> list[list[str]]:
    """The az calls that change something (all but READS)."""
    return [call for call in standins.calls("az") if command(call) not in READS]


def changes(standins: Standins) -> list[tuple[str, ...]]:
    return [command(call) for call in changes_calls(standins)]


def assert_no_secret(text: str) -> None:
    for value in FAKE_SECRETS.values():
        assert value not in text


# --- the template ------------------------------------------------------------------------------


def test_the_template_declares_what_it_uses_and_the_task_passes_what_it_needs():
    template = json.loads(TEMPLATE.read_text())
    assert template["$schema"].endswith("/deploymentTemplate.json#")
    text = TEMPLATE.read_text()
    used = set(re.findall(r"parameters\('(\w+)'\)", text))
    assert used == set(template["parameters"])
    assert set(re.findall(r"variables\('(\w+)'\)", text)) == set(template["variables"])
    passed = {p.split("=")[0] for p in plan.deployment_parameters(target(), True, "eastus")}
    required = {name for name, p in template["parameters"].items() if "defaultValue" not in p}
    assert required <= passed <= set(template["parameters"])
    assert set(template["outputs"]) == {"workspaceName", "clusterName", "storageAccountName"}


def test_the_template_deploys_a_workspace_with_its_dependencies_and_the_cluster():
    resources = {r["type"]: r for r in json.loads(TEMPLATE.read_text())["resources"]}
    assert {t: r["apiVersion"] for t, r in resources.items()} == {
        "Microsoft.Storage/storageAccounts": "2023-05-01",
        "Microsoft.KeyVault/vaults": "2023-07-01",
        "Microsoft.OperationalInsights/workspaces": "2023-09-01",
        "Microsoft.Insights/components": "2020-02-02",
        "Microsoft.MachineLearningServices/workspaces": "2024-04-01",
        "Microsoft.MachineLearningServices/workspaces/computes": "2024-04-01",
    }
    workspace = resources["Microsoft.MachineLearningServices/workspaces"]
    for key, kind in (
        ("storageAccount", "Microsoft.Storage/storageAccounts"),
        ("keyVault", "Microsoft.KeyVault/vaults"),
        ("applicationInsights", "Microsoft.Insights/components"),
    ):
        assert workspace["properties"][key].startswith(f"[resourceId('{kind}'")
        assert workspace["properties"][key] in workspace["dependsOn"]
    compute = resources["Microsoft.MachineLearningServices/workspaces/computes"]
    assert compute["properties"]["computeType"] == "AmlCompute"
    assert set(compute["properties"]["properties"]["scaleSettings"]) == {
        "minNodeCount",
        "maxNodeCount",
        "nodeIdleTimeBeforeScaleDown",
    }
    # An existing workspace keeps its own storage and key vault: only the cluster is deployed.
    conditional = {t for t, r in resources.items() if r.get("condition")}
    assert conditional == set(resources) - {compute["type"]}


def test_the_cluster_comes_from_the_compute_spec():
    cluster = Cluster.from_spec(ROOT / "azureml" / "compute.yml")
    assert cluster == Cluster("cpu-cluster", "Standard_DS3_v2", 0, 2, 900, "Dedicated")
    parameters = dict(p.split("=", 1) for p in plan.deployment_parameters(target(), False, "x"))
    assert parameters["nodeIdleTimeBeforeScaleDown"] == "PT900S"
    assert parameters["createWorkspace"] == "false"


# --- names and credentials ---------------------------------------------------------------------


def test_the_federated_credentials_trust_main_and_the_production_environment():
    credentials = plan.federated_credentials(REPO)
    assert [c["subject"] for c in credentials] == [
        "repo:octo/diabetes:ref:refs/heads/main",
        "repo:octo/diabetes:environment:production",
    ]
    for credential in credentials:
        assert credential["issuer"] == "https://token.actions.githubusercontent.com"
        assert credential["audiences"] == ["api://AzureADTokenExchange"]


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/octo/diabetes.git",
        "https://github.com/octo/diabetes",
        "git@github.com:octo/diabetes.git",
        "ssh://git@github.com/octo/diabetes.git",
    ],
)
def test_the_repository_is_read_from_a_github_remote(url):
    assert plan.repo_from_remote(url) == REPO


def test_a_remote_elsewhere_names_no_repository():
    assert plan.repo_from_remote("https://gitlab.com/octo/diabetes.git") == ""
    assert plan.repo_from_remote(None) == ""


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"resource_group": ""}, "no resource group given: set AZURE_RESOURCE_GROUP"),
        ({"workspace": "ml"}, "bad workspace name 'ml': use 3-33 letters"),
        ({"workspace": "-ws"}, "bad workspace name '-ws'"),
        ({"resource_group": "rg."}, "bad resource group name 'rg.'"),
        ({"location": "West Europe"}, "bad location name 'West Europe'"),
        ({"repo": ""}, "no repository given: set --repo OWNER/NAME"),
        ({"repo": "diabetes"}, "bad repository name 'diabetes': use OWNER/NAME"),
    ],
)
def test_a_bad_name_is_refused_in_one_line_before_any_call(standins, changes, message):
    with pytest.raises(UserError, match=re.escape(message)) as refused:
        run(**changes)
    assert "\n" not in str(refused.value)
    assert standins.calls() == []


def test_an_unknown_setup_setting_is_one_line():
    with pytest.raises(UserError, match=r"unknown setting 'region' in invoke.yaml \(setup:\)"):
        plan.SetupSettings.from_config({"region": "eastus"})


# --- against the stand-in az ---------------------------------------------------------------------


def test_a_first_run_creates_everything_in_order(standins):
    lines = run()

    assert changes(standins) == [
        ("group", "create"),
        ("deployment", "group", "create"),
        ("ad", "app", "create"),
        ("ad", "sp", "create"),
        ("ad", "app", "federated-credential", "create"),
        ("ad", "app", "federated-credential", "create"),
        ("role", "assignment", "create"),
    ]
    assert [line.rsplit(": ", 1)[-1] for line in lines] == [
        "created",  # resource group
        "deploying infra/main.json to the resource group (a few minutes)...",
        "created",  # workspace
        "created",  # cluster
        "created",  # app registration
        "created",  # service principal
        "created",  # credential for main
        "created",  # credential for production
        "created",  # role
        "set",  # GitHub
    ]
    assert [call[1:3] for call in standins.calls("gh")] == [
        ["secret", "set"],
        ["secret", "set"],
        ["secret", "set"],
        ["variable", "set"],
        ["variable", "set"],
    ]
    stored = (standins.state / "gh-stdin").read_text()
    assert f"AZURE_CLIENT_ID={FAKE_SECRETS['AZURE_CLIENT_ID']}\n" in stored
    assert f"AZURE_TENANT_ID={FAKE_SECRETS['AZURE_TENANT_ID']}\n" in stored
    assert_no_secret("\n".join(lines))


def test_the_first_run_passes_the_names_and_the_cluster_spec_to_the_template(standins):
    run(location="westeurope")
    [deploy] = [c for c in standins.calls("az") if command(c) == ("deployment", "group", "create")]
    assert deploy[deploy.index("--template-file") + 1] == str(TEMPLATE)
    assert f"workspaceName={FAKE_SECRETS['AZUREML_WORKSPACE_NAME']}" in deploy
    assert {"createWorkspace=true", "clusterName=cpu-cluster", "location=westeurope"} <= set(deploy)
    [role] = [c for c in standins.calls("az") if command(c) == ("role", "assignment", "create")]
    assert role[role.index("--role") + 1] == "AzureML Data Scientist"
    assert role[role.index("--scope") + 1].endswith(
        f"/workspaces/{FAKE_SECRETS['AZUREML_WORKSPACE_NAME']}"
    )
    assert role[role.index("--assignee-principal-type") + 1] == "ServicePrincipal"
    credentials = [
        json.loads(c[c.index("--parameters") + 1])
        for c in standins.calls("az")
        if command(c) == ("ad", "app", "federated-credential", "create")
    ]
    assert credentials == plan.federated_credentials(REPO)


def test_a_second_run_reuses_everything_and_creates_nothing(standins):
    run()
    first = len(standins.calls("az"))

    lines = run()

    assert changes(standins)[7:] == []
    assert len(standins.calls("az")) > first
    assert [line.rsplit(": ", 1)[-1] for line in lines[:-1]] == ["reused"] * 8
    assert lines[-1].endswith(": set")  # gh secret set writes the same values again


def test_a_dry_run_only_reads_and_says_what_it_would_create(standins):
    lines = run(dry_run=True)

    assert changes(standins) == []
    assert standins.calls("gh") == []
    assert all(line.endswith("would create") for line in lines[:-1])
    assert lines[-1].endswith("would set")
    assert len(lines) == 9


def test_a_dry_run_after_the_setup_finds_everything_there(standins):
    run()
    before = len(changes(standins))

    lines = run(dry_run=True)

    assert len(changes(standins)) == before
    assert [line.rsplit(": ", 1)[-1] for line in lines[:-1]] == ["reused"] * 8


def test_an_existing_workspace_keeps_its_resources_and_gets_only_the_cluster(standins):
    run(location="westeurope")
    [cluster] = standins.state.glob("az-cluster-*")
    cluster.unlink()  # the workspace was made by hand, say, without the cluster
    lines = run(location="eastus")

    [deploy] = [
        c for c in changes_calls(standins)[7:] if command(c) == ("deployment", "group", "create")
    ]
    # The cluster goes where the workspace is, not where --location points.
    assert {"createWorkspace=false", "location=westeurope"} <= set(deploy)
    assert lines[2].endswith("workspace, with storage, key vault and Application Insights: reused")
    assert lines[3].endswith("created")


def test_compute_operator_is_assigned_only_when_asked(standins):
    run(compute_operator=True)
    roles = [
        c[c.index("--role") + 1]
        for c in standins.calls("az")
        if command(c) == ("role", "assignment", "create")
    ]
    assert roles == ["AzureML Data Scientist", "AzureML Compute Operator"]


def test_a_credential_name_taken_by_another_subject_is_one_line(standins):
    run(repo="octo/old-name")
    with pytest.raises(UserError, match=r"has a federated credential named github-main for "):
        run()


# --- failures: one line, a fix, no id --------------------------------------------------------------


@pytest.mark.parametrize(
    ("deny", "message"),
    [
        ("group", "could not create the resource group: (AuthorizationFailed)"),
        ("deployment", "could not deploy infra/main.json"),
        (
            "app",
            "could not create the app registration diabetes-model-github: Insufficient privileges",
        ),
        (
            "role",
            "could not assign AzureML Data Scientist to diabetes-model-github on the workspace",
        ),
    ],
)
def test_missing_permissions_end_in_one_line_naming_what_is_needed(
    standins, monkeypatch, deny, message
):
    monkeypatch.setenv("STANDIN_AZ_DENY", deny)
    with pytest.raises(UserError) as refused:
        run()
    text = str(refused.value)
    assert text.startswith(message)
    assert "\n" not in text
    needed = {
        "group": "Contributor or Owner on the subscription",
        "deployment": "Contributor or Owner on the resource group",
        "app": "Application Developer role",
        "role": "Owner, User Access Administrator or Role Based Access Control Administrator",
    }
    assert needed[deny] in text
    for value in GUIDS:
        assert value not in text


def test_a_github_refusal_is_one_line_without_any_value_and_a_rerun_reuses_azure(standins):
    def refusing(argv, value):
        return 1, f"HTTP 403: Resource not accessible by integration ({value})"

    with pytest.raises(UserError) as refused:
        azure_setup.setup(target().check(), Az(), say=lambda line: None, gh_runner=refusing)
    text = str(refused.value)
    assert text.startswith("gh could not set the secret AZURE_CLIENT_ID: HTTP 403")
    assert_no_secret(text)
    assert [line.rsplit(": ", 1)[-1] for line in run()[:-1]] == ["reused"] * 8


def test_not_logged_in_says_to_log_in(standins):
    (standins.state / "az-logged-in").unlink()
    with pytest.raises(UserError) as refused:
        run()
    assert str(refused.value) == (
        "could not read the Azure account: Please run 'az login' to setup account. "
        "(log in first: `invoke login` (or `az login`), then rerun)"
    )
    assert changes(standins) == []


def test_without_az_it_says_how_to_install_it(standins, monkeypatch, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(UserError, match=r"^the Azure CLI \(az\) is not installed: .*install it"):
        run()


# --- the task ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tasks():
    return load_project_tasks()


def context() -> MockContext:
    return MockContext(config=Config(overrides={}), run=Result(), repeat=True)


def test_the_task_reads_the_workspace_from_the_environment_and_prints_one_line_per_step(
    tasks, standins, monkeypatch, capsys
):
    for name, value in FAKE_SECRETS.items():
        monkeypatch.setenv(name, value)
    tasks.azure_setup(context(), repo=REPO, dry_run=True)
    out = capsys.readouterr().out
    assert out.count("would create") == 8
    assert_no_secret(out)
    [account] = [c for c in standins.calls("az") if command(c) == ("account", "show")]
    assert account[account.index("--subscription") + 1] == FAKE_SECRETS["AZURE_SUBSCRIPTION_ID"]


def test_the_task_turns_a_failure_into_one_error_line_and_exit_1(tasks, standins, monkeypatch):
    monkeypatch.setenv("AZURE_RESOURCE_GROUP", "rg-x")
    monkeypatch.setenv("AZUREML_WORKSPACE_NAME", "ws-x")
    monkeypatch.setenv("STANDIN_AZ_DENY", "role")
    with pytest.raises(Exit) as exited:
        tasks.azure_setup(context(), repo=REPO, skip_github=True)
    assert exited.value.code == 1
    assert exited.value.message.startswith("error: could not assign AzureML Data Scientist")
    for value in GUIDS:
        assert value not in exited.value.message
