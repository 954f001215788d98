"""azureml/pipeline.yml and its components: what azure-ai-ml's own loaders accept, wired so that
every step reads what an earlier step writes, and the same command lines as the training job."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from diabetes_model.errors import UserError
from diabetes_model.pipeline_specs import load_pipeline

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ROOT / "azureml" / "pipeline.yml"
COMPONENTS = sorted((ROOT / "azureml" / "components").glob("*.yml"))


def test_the_pipeline_loads_and_validates_with_azure_ai_ml():
    from azure.ai.ml import load_job

    job = load_job(source=PIPELINE)

    assert type(job).__name__ == "PipelineJob"
    assert list(job.jobs) == ["prep", "train", "evaluate", "register"]
    assert job.settings.continue_on_step_failure is False
    validation = job._validate()
    assert validation.passed, validation.error_messages


@pytest.mark.parametrize("path", COMPONENTS, ids=lambda p: p.stem)
def test_each_component_loads_and_validates_with_azure_ai_ml(path):
    from azure.ai.ml import load_component

    component = load_component(source=path)

    validation = component._validate()
    assert validation.passed, validation.error_messages
    assert path.read_text().startswith("$schema: https://azuremlschemas.azureedge.net/")
    # Its code is the package, relative to the component's own folder.
    assert (path.parent / component.code).resolve() == ROOT / "src"


def test_the_steps_that_read_or_change_the_registry_are_never_reused_by_azure_ml():
    spec = load_pipeline(PIPELINE)
    assert {s.name for s in spec.steps if not s.deterministic} == {"evaluate", "register"}


def test_every_step_is_a_module_of_the_package_and_the_training_is_the_training_job():
    spec = load_pipeline(PIPELINE)
    assert [s.module for s in spec.steps] == [
        "diabetes_model.steps.prep",
        "diabetes_model.train",
        "diabetes_model.steps.evaluate",
        "diabetes_model.steps.register",
    ]
    for step in spec.steps:
        assert (ROOT / "src" / (step.module.replace(".", "/") + ".py")).is_file()
    # The hyperparameter and project inputs of train.yml, with the same defaults.
    train_job = yaml.safe_load((ROOT / "azureml" / "train.yml").read_text())["inputs"]
    shared = {k: v for k, v in train_job.items() if k != "data"}
    assert {k: spec.inputs[k] for k in shared} == shared


def copy_specs(tmp_path: Path) -> Path:
    folder = tmp_path / "azureml"
    shutil.copytree(ROOT / "azureml", folder)
    return folder / "pipeline.yml"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize(
    ("file", "old", "new", "error"),
    [
        (
            "pipeline.yml",
            "${{parent.jobs.train.outputs.model}}",
            "${{parent.jobs.train.outputs.modle}}",
            r"uses train\.outputs\.modle: no such output",
        ),
        (
            "pipeline.yml",
            "model: ${{parent.jobs.train.outputs.model}}\n      train:",
            "model: ${{parent.jobs.register.outputs.record}}\n      train:",
            r"uses step register's output before that step runs",
        ),
        (
            "pipeline.yml",
            "tolerance: ${{parent.inputs.tolerance}}",
            "tolerance: ${{parent.inputs.tolerence}}",
            r"uses parent input tolerence, which is not declared",
        ),
        (
            "components/evaluate.yml",
            "--report ${{outputs.report}}",
            "--report ${{outputs.reprot}}",
            r"evaluate\.yml's command uses outputs\.reprot, which the component does not declare",
        ),
        (
            "pipeline.yml",
            "      promote_anyway: ${{parent.inputs.promote_anyway}}\n",
            "",
            r"\(job register\) leaves input\(s\) promote_anyway unbound",
        ),
    ],
)
def test_wiring_that_azure_ai_ml_would_accept_but_cannot_run_is_refused(
    tmp_path, file, old, new, error
):
    """load_job validates each step alone; a step reading an output nobody writes is only found
    when the pipeline runs. The project's own check refuses it up front, in one line."""
    pipeline = copy_specs(tmp_path)
    edit(pipeline.parent / file, old, new)

    with pytest.raises(UserError, match=error):
        load_pipeline(pipeline)
