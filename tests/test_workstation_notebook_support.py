"""What the notebooks call: the project's settings, its data, `invoke train`'s command line,
in-process training and the comparison of runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from projects import copy_invoke_yaml

from diabetes_model.errors import UserError
from diabetes_model.workstation import notebook_support as support

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with the real invoke.yaml and job spec, and no workspace configured."""
    shutil.copy(ROOT / "environment.yml", tmp_path / "environment.yml")
    copy_invoke_yaml(tmp_path)
    shutil.copytree(ROOT / "azureml", tmp_path / "azureml")
    (tmp_path / "notebooks").mkdir()
    for variable in ("AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZUREML_WORKSPACE_NAME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("INVOKE_PROJECT_DATA_PATH", raising=False)
    return tmp_path


def test_the_project_is_found_from_the_notebooks_folder_with_invoke_yaml_settings(project_dir):
    project = support.open_project(project_dir / "notebooks")
    assert project.root == project_dir.resolve()
    assert project.settings.data_path == str(project_dir.resolve() / "data" / "diabetes.csv")
    assert project.settings.model_name == "diabetes-regressor"
    assert project.specs.train == project.root / "azureml" / "train.yml"


def test_the_environment_overrides_data_path_and_tracking_store_as_for_the_tasks(
    project_dir, monkeypatch
):
    monkeypatch.setenv("INVOKE_PROJECT_DATA_PATH", "/elsewhere/train.csv")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere/mlflow.db")
    project = support.open_project(project_dir / "notebooks")
    assert project.settings.data_path == "/elsewhere/train.csv"
    assert project.tracking_uri == "sqlite:////elsewhere/mlflow.db"


def test_outside_a_project_it_says_where_to_open_the_notebook(tmp_path):
    with pytest.raises(UserError, match=r"no invoke.yaml in .* open the notebook from the project"):
        support.find_root(tmp_path)


def test_missing_data_is_written_from_the_bundled_set_then_loaded_validated(project_dir):
    project = support.open_project(project_dir)
    said = []
    frame, schema = support.load_data(project, say=said.append)
    assert schema.task == "regression"
    assert said[0] == "wrote the bundled diabetes data to data/diabetes.csv (442 rows)"
    assert said[1].startswith("task: regression (auto: ")  # what training makes of the table
    assert len(frame) == 442 and "target" in frame.columns
    said.clear()
    support.load_data(project, say=said.append)
    assert not any(line.startswith("wrote") for line in said)  # an existing file is used as it is


def test_an_invalid_data_file_is_refused_not_replaced(project_dir):
    project = support.open_project(project_dir)
    path = Path(project.settings.data_path)
    path.parent.mkdir()
    path.write_text("age,target\n1,2\n")
    with pytest.raises(UserError, match="has 1 rows; training needs at least 10"):
        support.load_data(project)
    assert path.read_text() == "age,target\n1,2\n"


def test_the_training_config_is_the_job_specs_with_spec_inputs_and_other_params(project_dir):
    """What `invoke train` would run for these values, as the typed config training takes."""
    from diabetes_model.job_specs import training_config as spec_config

    project = support.open_project(project_dir)
    config = spec_config(project, {"max_iter": 50, "l2_regularization": 0.5}, register=False)
    assert config.data == Path(project.settings.data_path)
    assert config.hyperparameters == {
        "max_iter": 50,
        "learning_rate": 0.05,  # the spec's value
        "max_depth": 3,
        "l2_regularization": 0.5,
    }
    assert config.register is False
    assert (config.experiment, config.model_name) == ("diabetes-model", "diabetes-regressor")


def test_a_hyperparameter_the_model_lacks_is_refused_before_training(project_dir):
    project = support.open_project(project_dir)
    with pytest.raises(UserError, match="unknown hyperparameter 'n_trees'"):
        support.train_configuration(project, {"n_trees": 5})


def test_a_value_the_training_flags_refuse_is_one_error_not_an_exit(project_dir, capsys):
    project = support.open_project(project_dir)
    with pytest.raises(UserError, match=r"--max-iter: invalid int value: 'many'"):
        support.train_configuration(project, {"max_iter": "many"})
    assert capsys.readouterr().err == ""


def test_configurations_train_in_process_and_compare_as_mlflow_recorded_them(
    project_dir, diabetes_csv, monkeypatch, isolated_mlflow
):
    monkeypatch.setenv("INVOKE_PROJECT_DATA_PATH", str(diabetes_csv))
    project = support.open_project(project_dir)
    small = support.train_configuration(project, {"max_iter": 20}, register=False)
    deep = support.train_configuration(project, {"max_iter": 40, "max_depth": 5})

    table = support.compare_runs(project.tracking_uri, {"small": small.run_id, "deep": deep.run_id})
    assert list(table.index) == ["small", "deep"]
    assert table.loc["small", "max_iter"] == 20 and table.loc["deep", "max_depth"] == 5
    assert "learning_rate" not in table.columns  # the same in both runs
    assert table.loc["deep", "test_rmse"] == pytest.approx(deep.metrics["test_rmse"])
    assert list(table.columns[2:6]) == ["test_baseline_rmse", "test_mae", "test_r2", "test_rmse"]
    assert table.loc["deep", "model_version"] == 1
    assert table.loc[["small"], "model_version"].isna().all()

    model = support.load_registered_model(project.tracking_uri, "diabetes-regressor", 1)
    features = diabetes_csv_features(diabetes_csv)
    assert len(model.predict(features)) == 3


def diabetes_csv_features(path: Path):
    from diabetes_model.core.data import split_xy
    from diabetes_model.tables import load_training_table

    frame, schema = load_training_table(path, "target")
    features, _ = split_xy(frame.head(3), schema)
    return features


def test_comparison_rows_keep_only_parameters_that_differ():
    rows = support.comparison_rows(
        {
            "a": {"params": {"lr": "0.1", "seed": "1"}, "metrics": {"train_r2": 0.9}, "version": 2},
            "b": {
                "params": {"lr": "0.2", "seed": "1"},
                "metrics": {"test_r2": 0.5},
                "version": None,
            },
        }
    )
    assert rows == {
        "a": {"lr": 0.1, "test_r2": None, "train_r2": 0.9, "model_version": 2},
        "b": {"lr": 0.2, "test_r2": 0.5, "train_r2": None, "model_version": None},
    }


def test_without_a_workspace_it_says_what_to_set_in_one_line(project_dir):
    project = support.open_project(project_dir)
    said = []
    assert support.configured_workspace(project, say=said.append) is None
    [line] = said
    assert line.startswith("Not submitting: no Azure ML workspace configured: set ")
    assert "AZUREML_WORKSPACE_NAME" in line and "\n" not in line


def test_a_configured_workspace_is_named(project_dir, monkeypatch):
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000000")
    monkeypatch.setenv("AZURE_RESOURCE_GROUP", "rg-test")
    monkeypatch.setenv("AZUREML_WORKSPACE_NAME", "ws-test")
    project = support.open_project(project_dir)
    said = []
    workspace = support.configured_workspace(project, say=said.append)
    assert workspace.workspace_name == "ws-test"
    assert said == ["workspace ws-test in resource group rg-test"]
