"""The notebooks: stored without outputs, on the project's kernel, calling the package; each runs
top to bottom in a copy of the project against a temporary data file and MLflow store, with no
Azure ML workspace configured; and `invoke notebooks` runs them all."""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from invoke import MockContext, Result
from project_tasks import load_project_tasks
from projects import copy_invoke_yaml

from diabetes_model.workstation import notebooks as notebook_run

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NAMES = [path.name for path in NOTEBOOKS]
EXPLORE, TRAIN, SUBMIT = (
    "01-explore-data.ipynb",
    "02-train-and-compare.ipynb",
    "03-submit-to-azureml.ipynb",
)
# Libraries a notebook reaches only through the package, so it copies no training or Azure logic.
ONLY_THROUGH_THE_PACKAGE = ("sklearn", "mlflow", "azure")


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(notebook: nbformat.NotebookNode) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_the_three_notebooks_are_there():
    assert NAMES == [EXPLORE, TRAIN, SUBMIT]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_a_notebook_is_stored_without_outputs(path):
    notebook = read(path)
    nbformat.validate(notebook)
    for cell in code_cells(notebook):
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
    assert "widgets" not in notebook.metadata


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_a_notebook_runs_on_the_kernel_the_devcontainer_registers(path):
    assert read(path).metadata.kernelspec.name == notebook_run.KERNEL_NAME
    script = (ROOT / ".devcontainer" / "update-content.sh").read_text()
    [env_name] = re.findall(r"^ENV_NAME=(\S+)$", script, flags=re.MULTILINE)
    assert env_name == notebook_run.KERNEL_NAME
    assert re.search(r'ipykernel install --user --name "\$ENV_NAME"', script)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_a_notebook_calls_the_package_and_defines_no_logic_of_its_own(path):
    tree = ast.parse("\n".join(cell.source for cell in code_cells(read(path))))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "diabetes_model" in imported
    assert not imported & set(ONLY_THROUGH_THE_PACKAGE)
    definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
    assert not [node for node in ast.walk(tree) if isinstance(node, definitions)]


# --- executed top to bottom ---


def kernel_environment(base: Path, store: Path, data: Path) -> dict[str, str]:
    """The kernel's environment: no workspace, invoke settings or MLflow of the developer's shell;
    this store and table; a temporary HOME (base/home), so the kernel writes nothing there."""
    (base / "home").mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AZURE", "INVOKE_", "MLFLOW_", "JUPYTER", "IPYTHON", "MPL"))
    }
    env.update(
        HOME=str(base / "home"),
        MLFLOW_TRACKING_URI=f"sqlite:///{store.as_posix()}",
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
        INVOKE_PROJECT_DATA_PATH=str(data),
    )
    return env


def copy_project(project: Path) -> Path:
    """What the notebooks read from the project: settings, specs and themselves; no config.json."""
    project.mkdir()
    shutil.copy(ROOT / "environment.yml", project / "environment.yml")
    copy_invoke_yaml(project)
    shutil.copytree(ROOT / "azureml", project / "azureml")
    (project / "src").symlink_to(ROOT / "src")  # the job's code folder (`code: ../src`)
    (project / "notebooks").mkdir()
    for path in NOTEBOOKS:
        shutil.copy(path, project / "notebooks" / path.name)
    return project


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run the three notebooks once, as `invoke notebooks` does, in a copy of the project.

    The copy has no config.json, and the kernel's environment no AZURE_* variables, so no
    workspace is configured whatever the developer's shell has; data and MLflow store are
    redirected by environment variables; HOME is temporary, so the kernel writes nothing there.
    """
    base = tmp_path_factory.mktemp("notebooks")
    project = copy_project(base / "project")

    store = base / "store" / "mlflow.db"
    data = base / "data" / "diabetes.csv"
    env = kernel_environment(base, store, data)
    sources = [project / "notebooks" / name for name in NAMES]
    results = notebook_run.execute_all(
        sources, base / "executed", env=env, timeout=300, say=lambda line: None
    )
    return {
        "results": {done.source.name: done for done in results},
        "notebooks": {done.source.name: read(done.output) for done in results},
        "project": project,
        "store": store,
        "data": data,
    }


def outputs_text(cell) -> str:
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif "data" in output:
            parts.append(output.data.get("text/plain", ""))
    return "".join(parts)


def images(notebook) -> int:
    return sum(
        "image/png" in output.get("data", {})
        for cell in code_cells(notebook)
        for output in cell.outputs
    )


@pytest.mark.parametrize("name", [EXPLORE, TRAIN, SUBMIT])
def test_each_notebook_runs_top_to_bottom_without_an_error(executed, name):
    done = executed["results"][name]
    assert done.error is None
    cells = code_cells(executed["notebooks"][name])
    assert all(cell.execution_count for cell in cells)
    assert not [o for cell in cells for o in cell.outputs if o.output_type == "error"]


def test_the_notebooks_write_only_where_the_environment_points(executed):
    project = executed["project"]
    assert executed["data"].is_file() and executed["store"].is_file()
    assert not (project / "data").exists() and not (project / "mlruns").exists()


def test_explore_summarises_the_data_and_plots_features_correlations_and_target(executed):
    notebook = executed["notebooks"][EXPLORE]
    text = "\n".join(outputs_text(cell) for cell in code_cells(notebook))
    assert "wrote the bundled diabetes data" in text
    assert "442 rows, 10 features" in text
    for column in ("bmi", "s6", "target", "missing"):
        assert column in text  # the summary table
    assert images(notebook) >= 4


def test_train_and_compare_tracks_three_runs_and_predicts_with_the_best_version(executed):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{executed['store'].as_posix()}")
    experiment = client.get_experiment_by_name("diabetes-model")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 3 and {run.info.status for run in runs} == {"FINISHED"}
    assert len(client.search_model_versions("name='diabetes-regressor'")) == 3

    notebook = executed["notebooks"][TRAIN]
    texts = [outputs_text(cell) for cell in code_cells(notebook)]
    [table] = [text for text in texts if "test_rmse" in text and "model_version" in text]
    for run in runs:
        assert run.data.params["max_depth"] in table
    best = min(runs, key=lambda run: run.data.metrics["test_rmse"])
    [version] = client.search_model_versions(f"run_id='{best.info.run_id}'")
    assert f"diabetes-regressor version {version.version}" in "".join(texts)
    [predictions] = [text for text in texts if "predicted" in text]
    assert "actual" in predictions and len(predictions.strip().splitlines()) >= 6
    assert images(notebook) >= 1
    assert "IProgress not found" not in "".join(texts)  # no widget warning from MLflow's bars


def test_submit_without_a_workspace_shows_the_job_says_so_once_and_submits_nothing(executed):
    cells = code_cells(executed["notebooks"][SUBMIT])
    texts = [outputs_text(cell) for cell in cells]
    [resolved] = [text for text in texts if "resolved job written to" in text]
    assert "command: python -m diabetes_model.train" in resolved
    assert "environment: azureml:diabetes-model-env:" in resolved
    assert (executed["project"] / "outputs" / "azureml" / "train-job.yml").is_file()

    [guard] = [i for i, text in enumerate(texts) if "no Azure ML workspace configured" in text]
    assert texts[guard].startswith("Not submitting: ")
    assert texts[guard].count("\n") == 1  # one line
    assert all(text == "" for text in texts[guard + 1 :])  # later cells do nothing


def test_with_a_workspace_the_submit_notebook_submits_what_invoke_train_remote_submits(
    tmp_path, monkeypatch, diabetes_csv, capsys
):
    """Its cells run here, in-process, so the real azure-ai-ml client talks to the Azure fake."""
    from azure_fake import RESOURCE_GROUP, WORKSPACE, fake_azure

    project = copy_project(tmp_path / "project")
    monkeypatch.chdir(project / "notebooks")
    monkeypatch.setenv("INVOKE_PROJECT_DATA_PATH", str(diabetes_csv))
    namespace: dict = {}
    with fake_azure(monkeypatch, home=str(tmp_path / "home")) as cloud:
        for cell in code_cells(read(project / "notebooks" / SUBMIT)):
            exec(compile(cell.source, SUBMIT, "exec"), namespace)

    assert namespace["exit_code"] == 0
    [name] = cloud.jobs_created
    job = cloud.job(name)["properties"]
    spec = yaml.safe_load((ROOT / "azureml" / "train.yml").read_text())
    assert job["command"] == " ".join(spec["command"].split())
    assert job["experimentName"] == "diabetes-model"
    out = capsys.readouterr().out
    assert f"workspace {WORKSPACE} in resource group {RESOURCE_GROUP}" in out
    assert f"submitted command job {name}" in out


# --- invoke notebooks ---


RUNNER = [sys.executable, "-m", "diabetes_model.workstation.notebooks", "notebooks"]


@pytest.mark.parametrize(
    ("flags", "extra"),
    [
        ({}, ["--timeout", "600"]),
        ({"match": "02", "timeout": 60}, ["--timeout", "60", "--match", "02"]),
    ],
)
def test_invoke_notebooks_runs_them_into_the_ignored_executed_folder(flags, extra):
    tasks = load_project_tasks()
    c = MockContext(run=Result(), repeat=True)
    tasks.notebooks(c, **flags)
    assert shlex.split(c.run.call_args.args[0]) == [
        *RUNNER,
        "--output",
        "notebooks/executed",
        *extra,
    ]
    assert "notebooks/executed/" in (ROOT / ".gitignore").read_text().splitlines()


@pytest.fixture(scope="module")
def executed_on_categories(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Notebooks 01 and 02 on a classification table with text categories and gaps, as a user's
    own table would be brought in (INVOKE_PROJECT_* instead of editing invoke.yaml)."""
    import numpy as np
    import pandas as pd

    base = tmp_path_factory.mktemp("categories")
    project = copy_project(base / "project")
    rng = np.random.default_rng(5)
    species = rng.choice(["Adelie", "Chinstrap", "Gentoo"], 200)
    table = pd.DataFrame(
        {
            "island": np.where(
                species == "Gentoo", "Biscoe", rng.choice(["Dream", "Torgersen"], 200)
            ),
            "bill_mm": np.where(species == "Adelie", 38.0, 48.0) + rng.normal(0, 2, 200),
            "mass_g": np.where(species == "Gentoo", 5000.0, 3700.0) + rng.normal(0, 300, 200),
            "species": species,
        }
    )
    table.loc[::9, "island"] = None
    data = base / "penguins.csv"
    table.to_csv(data, index=False)
    env = kernel_environment(base, base / "store" / "mlflow.db", data)
    env.update(
        INVOKE_PROJECT_TARGET="species",
        INVOKE_PROJECT_FEATURES="",  # every column but the target
    )
    sources = [project / "notebooks" / name for name in (EXPLORE, TRAIN)]
    results = notebook_run.execute_all(
        sources, base / "executed", env=env, timeout=300, say=lambda line: None
    )
    return {done.source.name: (done, read(done.output)) for done in results}


def test_explore_and_compare_work_on_a_classification_table_with_categories(
    executed_on_categories,
):
    for name, (done, _) in executed_on_categories.items():
        assert done.error is None, f"{name}: {done.error}"
    _, explore = executed_on_categories[EXPLORE]
    text = "".join(outputs_text(cell) for cell in code_cells(explore))
    assert "task: classification" in text and "island (categorical)" in text
    assert images(explore) >= 4  # numbers, categories, correlations, classes, by class
    _, compare = executed_on_categories[TRAIN]
    text = "".join(outputs_text(cell) for cell in code_cells(compare))
    assert "judged by test roc_auc (maximize)" in text
    assert "test_roc_auc" in text and "predicted" in text
