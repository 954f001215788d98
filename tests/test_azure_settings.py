"""Azure settings: invoke.yaml < config.json < environment < flags, and one line for what is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from diabetes_model.azure.settings import AzureSettings, read_config_json
from diabetes_model.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
ENVIRON = {
    "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000001",
    "AZURE_RESOURCE_GROUP": "rg-env",
    "AZUREML_WORKSPACE_NAME": "ws-env",
}
CONFIG_JSON = {
    "subscription_id": "00000000-0000-0000-0000-000000000002",
    "resource_group": "rg-file",
    "workspace_name": "ws-file",
}


def test_the_workspace_comes_from_the_environment():
    workspace = AzureSettings.from_sources({}, ENVIRON).workspace()
    assert (workspace.resource_group, workspace.workspace_name) == ("rg-env", "ws-env")


def test_config_json_serves_when_the_environment_is_silent_and_yields_to_it():
    from_file = AzureSettings.from_sources({}, {}, config_json=CONFIG_JSON).workspace()
    assert from_file.workspace_name == "ws-file"
    both = AzureSettings.from_sources({}, ENVIRON, config_json=CONFIG_JSON).workspace()
    assert both.workspace_name == "ws-env"


def test_flags_override_everything():
    settings = AzureSettings.from_sources(
        {"workspace_name": "ws-yaml"},
        ENVIRON,
        {"workspace_name": "ws-flag", "resource_group": ""},
        CONFIG_JSON,
    )
    assert settings.workspace_name == "ws-flag"
    assert settings.resource_group == "rg-env"  # an empty flag is no flag


def test_missing_workspace_settings_are_named_in_one_line_with_how_to_set_them():
    with pytest.raises(UserError) as raised:
        AzureSettings.from_sources({}, {"AZUREML_WORKSPACE_NAME": "ws"}).workspace()
    message = str(raised.value)
    assert "\n" not in message
    assert "AZURE_SUBSCRIPTION_ID (or --subscription)" in message
    assert "AZURE_RESOURCE_GROUP (or --resource-group)" in message
    assert "AZUREML_WORKSPACE_NAME" not in message
    assert "config.json" in message


def test_unknown_keys_in_invoke_yaml_are_refused():
    with pytest.raises(UserError, match=r"unknown setting 'workspace' in invoke\.yaml"):
        AzureSettings.from_sources({"workspace": "x"}, {})


def test_unknown_notification_events_are_refused():
    with pytest.raises(UserError, match="notify_on has unknown events"):
        AzureSettings.from_sources({"notify_on": ["JobStarted"]}, {})


def test_e_mail_addresses_may_be_a_list_or_a_comma_separated_string():
    listed = AzureSettings.from_sources({"notify_emails": ["a@example.com", "b@example.com"]}, {})
    joined = AzureSettings.from_sources({"notify_emails": "a@example.com, b@example.com"}, {})
    assert listed.notify_emails == joined.notify_emails == ("a@example.com", "b@example.com")


def test_the_projects_invoke_yaml_azure_section_is_valid_and_holds_no_ids():
    section = yaml.safe_load((ROOT / "invoke.yaml").read_text())["azure"]
    settings = AzureSettings.from_sources(section, {})
    assert settings.subscription_id == settings.resource_group == settings.workspace_name == ""


def test_every_spec_the_project_names_exists():
    from diabetes_model.project import Specs

    specs = Specs(ROOT / "azureml")
    paths = [
        getattr(specs, name) for name in dir(Specs) if isinstance(getattr(Specs, name), property)
    ]
    # copier: deploy-begin
    paths += [specs.deployment(slot) for slot in ("blue", "green")]
    # copier: deploy-end
    missing = [str(path) for path in paths if not path.is_file()]
    assert len(paths) >= 6 and not missing


def test_config_json_is_read_from_the_project_root_or_azureml_folder(tmp_path: Path):
    assert read_config_json(tmp_path) == {}
    (tmp_path / ".azureml").mkdir()
    (tmp_path / ".azureml" / "config.json").write_text(json.dumps(CONFIG_JSON))
    assert read_config_json(tmp_path) == CONFIG_JSON
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(UserError, match=r"config\.json is not valid JSON"):
        read_config_json(tmp_path)
