"""`invoke doctor`'s pure core: from observations to one table, each line with its fix."""

from __future__ import annotations

import dataclasses

import pytest
from standins import FAKE_SECRETS

from diabetes_model.workstation import doctor
from diabetes_model.workstation.doctor import Facts, TrackingStore

PINS = {"mlflow": "3.17.2", "scikit-learn": "1.9.1"}


def ready(**changes) -> Facts:
    """A workspace where everything is ready; each test breaks one thing."""
    facts = Facts(
        python_version="3.11.9",
        python_pin="3.11",
        pins=PINS,
        installed=dict(PINS),
        environ=dict(FAKE_SECRETS),
        az_version={"azure-cli": "2.70.0", "extensions": {"ml": "2.30.0"}},
        account={
            "id": FAKE_SECRETS["AZURE_SUBSCRIPTION_ID"],
            "user": {"name": FAKE_SECRETS["AZURE_CLIENT_ID"], "type": "servicePrincipal"},
        },
        workspace=(True, "reachable (location westeurope)"),
        tracking=TrackingStore("sqlite", "mlruns/mlflow.db", exists=True),
        hooks=True,
    )
    return dataclasses.replace(facts, **changes)


def row(facts: Facts, name: str) -> doctor.Check:
    return next(check for check in doctor.checks(facts) if check.name == name)


def test_a_ready_workspace_is_all_ok():
    rows = doctor.checks(ready())
    assert {r.status for r in rows} == {"ok"}
    assert doctor.failures(rows) == 0
    assert doctor.render(rows).endswith("All ready.")


def test_the_table_has_one_line_per_check_in_the_order_to_fix_them():
    names = [r.name for r in doctor.checks(ready())]
    assert names[:3] == ["Python environment", "Azure CLI", "Azure CLI ml extension"]
    assert names[-4:] == ["Azure login", "Azure ML workspace", "MLflow store", "git hooks"]
    assert set(doctor.SECRETS) <= set(names)


# --- Python environment against environment.yml ----------------------------------------------


def test_a_package_off_its_pin_fails_with_the_command_that_rebuilds_the_environment():
    check = row(ready(installed={"mlflow": "3.1.0", "scikit-learn": "1.9.1"}), "Python environment")
    assert check.status == "FAIL"
    assert "mlflow 3.1.0 (wants 3.17.2)" in check.detail
    assert "conda env update" in check.fix and "environment.yml" in check.fix


def test_a_missing_package_is_named():
    check = row(ready(installed={"mlflow": "3.17.2", "scikit-learn": None}), "Python environment")
    assert check.status == "FAIL"
    assert "scikit-learn missing" in check.detail


def test_the_wrong_python_fails_before_the_packages_are_compared():
    check = row(ready(python_version="3.12.1"), "Python environment")
    assert check.status == "FAIL"
    assert "3.12.1" in check.detail and "3.11" in check.detail
    assert "conda activate diabetes-model" in check.fix


def test_many_mismatches_are_summarised():
    pins = {f"pkg{i}": "1.0" for i in range(6)}
    check = row(ready(pins=pins, installed={}), "Python environment")
    assert "and 3 more" in check.detail


def test_environment_pins_are_read_from_the_pip_section():
    document = {
        "name": "diabetes-model",
        "dependencies": ["python=3.11", "pip", {"pip": ["MLflow==3.17.2", "scikit_learn==1.9.1"]}],
    }
    assert doctor.pins_from_environment(document) == (
        "3.11",
        {"mlflow": "3.17.2", "scikit-learn": "1.9.1"},
    )


# --- Azure CLI and the ml extension ----------------------------------------------------------


def test_without_the_azure_cli_the_fix_is_its_install_page_and_dependent_checks_are_skipped():
    facts = ready(az_version=None, account=None)
    assert row(facts, "Azure CLI").status == "FAIL"
    assert "install-azure-cli" in row(facts, "Azure CLI").fix
    assert row(facts, "Azure CLI ml extension").status == "skip"
    assert row(facts, "Azure login").status == "skip"


def test_a_missing_ml_extension_fails_with_the_install_command():
    check = row(
        ready(az_version={"azure-cli": "2.70.0", "extensions": {}}), "Azure CLI ml extension"
    )
    assert (check.status, check.fix) == ("FAIL", "az extension add --name ml --yes")


def test_the_retired_v1_extension_is_reported_as_a_conflict():
    versions = {"azure-cli": "2.70.0", "extensions": {"azure-cli-ml": "1.41.0"}}
    check = row(ready(az_version=versions), "Azure CLI ml extension")
    assert check.status == "FAIL"
    assert "az extension remove --name azure-cli-ml" in check.fix


# --- secrets ---------------------------------------------------------------------------------


def test_missing_workspace_secrets_fail_and_missing_login_secrets_only_warn():
    facts = ready(environ={}, account=None)
    statuses = {name: row(facts, name).status for name in doctor.SECRETS}
    assert statuses == {
        "AZURE_SUBSCRIPTION_ID": "FAIL",
        "AZURE_RESOURCE_GROUP": "FAIL",
        "AZUREML_WORKSPACE_NAME": "FAIL",
        "AZURE_TENANT_ID": "warn",
        "AZURE_CLIENT_ID": "warn",
        "AZURE_CLIENT_SECRET": "warn",  # pragma: allowlist secret
    }
    assert "Codespaces secret" in row(facts, "AZURE_SUBSCRIPTION_ID").fix
    assert "invoke login" in row(facts, "AZURE_CLIENT_SECRET").fix


def test_secret_values_are_masked_and_the_client_secret_shows_nothing():
    table = doctor.render(doctor.checks(ready()))
    for value in FAKE_SECRETS.values():
        assert value not in table
    assert row(ready(), "AZURE_CLIENT_SECRET").detail == (
        f"set (hidden, {len(FAKE_SECRETS['AZURE_CLIENT_SECRET'])} chars)"
    )


def test_an_id_that_is_not_a_guid_fails():
    environ = {**FAKE_SECRETS, "AZURE_TENANT_ID": "contoso.onmicrosoft.com"}
    check = row(ready(environ=environ), "AZURE_TENANT_ID")
    assert check.status == "FAIL"
    assert "not a GUID" in check.detail


def test_render_blanks_out_a_secret_that_reached_a_detail():
    leaky = doctor.Check(
        "Azure ML workspace", "FAIL", f"no access to {FAKE_SECRETS['AZURE_CLIENT_ID']}"
    )
    table = doctor.render([leaky], secrets=FAKE_SECRETS.values())
    assert FAKE_SECRETS["AZURE_CLIENT_ID"] not in table
    assert "no access to ***" in table


def test_only_secret_values_are_blanked_out_not_names_or_parts_of_words():
    environ = {**FAKE_SECRETS, "AZURE_RESOURCE_GROUP": "rg", "AZUREML_WORKSPACE_NAME": "ml"}
    text = (
        "unrecognized args for group rg and workspace ml, "
        f"app {FAKE_SECRETS['AZURE_CLIENT_ID']}, secret {FAKE_SECRETS['AZURE_CLIENT_SECRET']}"
    )
    assert doctor.redact(text, doctor.secret_values(environ)) == (
        "unrecognized args for group rg and workspace ml, app ***, secret ***"
    )


def test_an_id_that_is_not_a_guid_is_not_taken_for_a_secret():
    # az accepts a subscription's name too; "dev" must not turn "device" into "***ice".
    environ = {**FAKE_SECRETS, "AZURE_SUBSCRIPTION_ID": "dev"}
    assert doctor.redact("device code", doctor.secret_values(environ)) == "device code"


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("AZURE_RESOURCE_GROUP", "rg-diabetes", "set (rg***, 11 chars)"),
        ("AZUREML_WORKSPACE_NAME", "short", "set (hidden, 5 chars)"),
        ("AZURE_CLIENT_SECRET", "a-long-client-secret", "set (hidden, 20 chars)"),
    ],
)
def test_mask_shows_at_most_two_characters(name, value, shown):
    assert doctor.mask(name, value) == shown


# --- login, workspace, MLflow, hooks ---------------------------------------------------------


def test_not_logged_in_fails_with_invoke_login():
    check = row(ready(account=None), "Azure login")
    assert (check.status, check.fix) == ("FAIL", "invoke login")


def test_a_login_on_another_subscription_warns_with_the_command_that_switches():
    account = {"id": "00000000-0000-0000-0000-00000000ffff", "user": {"type": "user"}}
    check = row(ready(account=account), "Azure login")
    assert check.status == "warn"
    assert check.fix == 'az account set --subscription "$AZURE_SUBSCRIPTION_ID"'


def test_the_workspace_is_only_checked_online():
    offline = row(ready(workspace=None), "Azure ML workspace")
    assert (offline.status, offline.fix) == ("skip", "invoke doctor --online")
    unreachable = row(ready(workspace=(False, "ResourceNotFound")), "Azure ML workspace")
    assert unreachable.status == "FAIL"
    assert "AZUREML_WORKSPACE_NAME" in unreachable.fix


def test_a_local_tracking_store_that_cannot_be_written_fails():
    store = TrackingStore("sqlite", "mlruns/mlflow.db", exists=False, writable=False)
    assert row(ready(tracking=store), "MLflow store").status == "FAIL"
    fresh = TrackingStore("sqlite", "mlruns/mlflow.db", exists=False)
    assert "created by the first invoke train" in row(ready(tracking=fresh), "MLflow store").detail


def test_git_hooks_not_installed_fail_with_pre_commit_install():
    check = row(ready(hooks=False), "git hooks")
    assert (check.status, check.fix) == ("FAIL", "pre-commit install")
    assert row(ready(hooks=None), "git hooks").status == "skip"


def test_render_counts_what_is_not_ready():
    rows = doctor.checks(ready(hooks=False, account=None))
    table = doctor.render(rows)
    assert table.splitlines()[0].split() == ["check", "state", "fix"]
    assert table.endswith("2 not ready; run the fix on each FAIL line.")
    assert doctor.failures(rows) == 2


def test_a_workspace_config_json_stands_in_for_the_workspace_secrets():
    environ = {k: v for k, v in FAKE_SECRETS.items() if k not in doctor.REQUIRED_SECRETS}
    config_json = {
        "subscription_id": FAKE_SECRETS["AZURE_SUBSCRIPTION_ID"],
        "resource_group": "rg",
        "workspace_name": "ws",
    }
    facts = ready(environ=environ, config_json=config_json)

    for name in doctor.REQUIRED_SECRETS:
        assert row(facts, name).status == "ok"
        assert "config.json" in row(facts, name).detail
    assert row(facts, "Azure login").status == "ok"  # its subscription is config.json's
    other = ready(environ=environ, config_json={**config_json, "subscription_id": "x"})
    assert row(other, "Azure login").status == "warn"


def test_the_dev_tool_pins_are_read_from_pyprojects_dev_extra():
    document = {"project": {"optional-dependencies": {"dev": ["PyTest==9.2.0", "ruff>=0.1"]}}}
    assert doctor.pins_from_pyproject(document) == {"pytest": "9.2.0"}


def test_a_broken_store_fails_with_its_fix():
    store = TrackingStore(
        "sqlite", "mlruns/mlflow.db", exists=True, problem="broken, x", fix="mv a b"
    )
    check = doctor.check_tracking(store)
    assert (check.status, check.fix) == ("FAIL", "mv a b")
    assert "broken" in check.detail
