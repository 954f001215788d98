"""Settings: defaults < invoke.yaml < environment < flags, with unknown keys refused."""

from pathlib import Path

import pytest

from diabetes_model.errors import UserError
from diabetes_model.settings import Settings


def test_later_sources_win():
    settings = Settings.from_sources(
        {"data_path": "a.csv", "experiment_name": "from-yaml", "tracking_uri": "sqlite:///yaml.db"},
        {"MLFLOW_TRACKING_URI": "http://tracking:5000"},
        {"experiment_name": "from-flag", "data_path": None},
    )
    assert settings.data_path == "a.csv"
    assert settings.experiment_name == "from-flag"
    assert settings.tracking_uri == "http://tracking:5000"


def test_an_unknown_setting_is_refused_with_the_known_ones():
    with pytest.raises(UserError, match=r"unknown setting 'data_file' in invoke.yaml.*data_path"):
        Settings.from_sources({"data_file": "x.csv"})


def test_values_from_environment_strings_take_the_default_types():
    # invoke passes INVOKE_PROJECT_* variables through as strings
    settings = Settings.from_sources({"test_size": "0.3", "random_state": "7", "features": "a, b"})
    assert (settings.test_size, settings.random_state, settings.features) == (0.3, 7, ("a", "b"))


def test_a_value_of_the_wrong_type_is_refused():
    with pytest.raises(UserError, match=r"'random_state'.*invalid value 'seven'"):
        Settings.from_sources({"random_state": "seven"})


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        Settings().target = "y"  # type: ignore[misc]


def test_relative_data_paths_resolve_against_the_project_root(tmp_path: Path):
    assert Settings(data_path="data/x.csv").resolve(tmp_path).data_path == str(
        tmp_path / "data/x.csv"
    )
    assert Settings(data_path="/abs/x.csv").resolve(tmp_path).data_path == "/abs/x.csv"


def test_the_default_store_is_sqlite_inside_the_project(tmp_path: Path):
    assert Settings().tracking_uri_for(tmp_path) == f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    assert Settings(tracking_uri="http://x").tracking_uri_for(tmp_path) == "http://x"


def test_invoke_yaml_holds_only_known_settings():
    import yaml

    config = yaml.safe_load((Path(__file__).parents[1] / "invoke.yaml").read_text())
    assert Settings.from_sources(config["project"]).model_name == "diabetes-regressor"
