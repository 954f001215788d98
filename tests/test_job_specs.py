"""The Azure ML specs under azureml/: each loads with azure-ai-ml's own loader, and they agree
with each other and with the project (one command line, one environment, one data file)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from projects import make_project

from diabetes_model import job_specs as specs
from diabetes_model.azure import assets
from diabetes_model.errors import UserError
from diabetes_model.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
AZUREML = ROOT / "azureml"
SCHEMA_BASE = "https://azuremlschemas.azureedge.net/latest/"


# Each spec kind (the name in its $schema URL) and the azure-ai-ml loader that `az ml` uses for it.
LOADERS = {
    "commandJob": "load_job",
    "sweepJob": "load_job",
    "pipelineJob": "load_job",
    "data": "load_data",
    "environment": "load_environment",
    "amlCompute": "load_compute",
    "model": "load_model",
    "managedOnlineEndpoint": "load_online_endpoint",
    "managedOnlineDeployment": "load_online_deployment",
    "batchEndpoint": "load_batch_endpoint",
    "Schedule": "load_schedule",
}
SCHEMA_LINE = re.compile(r"\$schema: https?://\S+/(?P<kind>\w+?)(\.schema)?\.json")


def loader_for(kind: str):
    from azure.ai.ml.entities import _load_functions

    assert kind in LOADERS, f"no loader known for $schema kind {kind}: add it to LOADERS"
    # load_schedule is not re-exported at the package top; the module holds every loader.
    return getattr(_load_functions, LOADERS[kind])


def read(name: str) -> dict:
    return yaml.safe_load((AZUREML / name).read_text())


@pytest.mark.parametrize("path", sorted(AZUREML.glob("*.yml")), ids=lambda p: p.name)
def test_every_spec_names_its_schema_first_and_loads_with_the_sdk(path: Path):
    first = path.read_text().splitlines()[0]
    match = SCHEMA_LINE.fullmatch(first)
    assert match, f"{path.name} must start with its $schema line"
    entity = loader_for(match["kind"])(source=path)
    assert entity is not None


def test_the_specs_cover_job_data_environment_compute_and_sweep():
    schemas = {read(p.name)["$schema"].removeprefix(SCHEMA_BASE) for p in AZUREML.glob("*.yml")}
    assert schemas >= {
        "commandJob.schema.json",
        "data.schema.json",
        "environment.schema.json",
        "amlCompute.schema.json",
        "sweepJob.schema.json",
    }


def test_the_job_runs_the_training_module_from_a_snapshot_of_src():
    from azure.ai.ml import load_job

    job = load_job(source=AZUREML / "train.yml")
    code = (AZUREML / job.code).resolve()
    assert (code / "diabetes_model" / "train.py").is_file()
    assert job.command.split()[:3] == ["python", "-m", "diabetes_model.train"]
    assert (code / ".amlignore").is_file()


def test_the_job_inputs_default_to_the_project_settings():
    spec = read("train.yml")
    assert spec["experiment_name"] == spec["inputs"]["experiment"]
    for name, value in specs.project_inputs(Settings()).items():
        assert spec["inputs"][name] == value, name


def test_the_job_hyperparameters_default_to_the_training_defaults():
    from diabetes_model.core.model import DEFAULT_HYPERPARAMETERS

    inputs = read("train.yml")["inputs"]
    for name in ("learning_rate", "max_iter", "max_depth"):
        assert inputs[name] == DEFAULT_HYPERPARAMETERS[name], name


def test_the_environment_builds_the_project_environment_on_an_azure_ml_base_image():
    from azure.ai.ml import load_environment

    environment = load_environment(source=AZUREML / "environment.yml")
    assert environment.image.startswith("mcr.microsoft.com/azureml/")
    project_env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert environment.conda_file == project_env
    pins = next(d["pip"] for d in project_env["dependencies"] if isinstance(d, dict))
    assert any(pin.startswith("azureml-mlflow==") for pin in pins)


def test_the_data_asset_registers_the_file_invoke_data_writes():
    spec = read("data.yml")
    assert spec["type"] == "uri_file"
    path = (AZUREML / spec["path"]).resolve()
    data_path = yaml.safe_load((ROOT / "invoke.yaml").read_text())["project"]["data_path"]
    assert path == (ROOT / data_path).resolve()
    train_input = read("train.yml")["inputs"]["data"]
    assert train_input["path"].startswith(f"azureml:{spec['name']}@")


def test_the_cluster_scales_to_zero_when_idle():
    from azure.ai.ml import load_compute

    compute = load_compute(source=AZUREML / "compute.yml")
    assert compute.min_instances == 0
    assert 0 < compute.idle_time_before_scale_down <= 1800
    assert read("train.yml")["compute"] == f"azureml:{compute.name}"
    assert read("sweep.yml")["compute"] == f"azureml:{compute.name}"


def test_a_sweep_trial_runs_the_training_command_with_the_searched_inputs():
    train, sweep = read("train.yml"), read("sweep.yml")
    searched = set(sweep["search_space"])
    expected = train["command"]
    for name in searched:
        expected = expected.replace(f"${{{{inputs.{name}}}}}", f"${{{{search_space.{name}}}}}")
    assert " ".join(sweep["trial"]["command"].split()) == " ".join(expected.split()) + (
        " --no-register"
    )
    assert set(sweep["inputs"]) == set(train["inputs"]) - searched
    assert sweep["trial"]["code"] == train["code"]
    assert sweep["trial"]["environment"] == train["environment"]


def test_the_sweep_optimizes_a_metric_the_training_logs():
    from azure.ai.ml import load_job

    from diabetes_model.core.metrics import RegressionMetrics

    sweep = load_job(source=AZUREML / "sweep.yml")
    logged = RegressionMetrics(rmse=1.0, mae=1.0, r2=1.0).as_dict("test")
    assert sweep.objective.primary_metric in logged
    assert sweep.objective.goal == "minimize"
    assert sweep.early_termination is not None
    assert sweep.limits.max_total_trials >= sweep.limits.max_concurrent_trials >= 1


def test_the_local_command_is_the_job_command_with_local_values():
    spec = read("train.yml")
    argv = specs.resolve_command(
        spec["command"], spec["inputs"], {"data": "data/my data.csv", "learning_rate": 0.05}
    )
    assert argv[:3] == ["python", "-m", "diabetes_model.train"]
    assert argv[argv.index("--data") + 1] == "data/my data.csv"
    assert argv[argv.index("--learning-rate") + 1] == "0.05"
    assert argv[argv.index("--max-depth") + 1] == str(spec["inputs"]["max_depth"])


def test_a_data_input_without_a_local_path_is_refused():
    spec = read("train.yml")
    with pytest.raises(UserError, match="input 'data' is a uri_file input"):
        specs.resolve_command(spec["command"], spec["inputs"])


def test_a_command_placeholder_without_an_input_is_refused():
    with pytest.raises(UserError, match=r"inputs\.missing"):
        specs.resolve_command("python x.py --a ${{inputs.missing}}", {})


def test_a_spec_without_a_schema_line_is_refused(tmp_path: Path):
    path = tmp_path / "job.yml"
    path.write_text("type: command\n")
    with pytest.raises(UserError, match=r"no \$schema line"):
        specs.load_spec(path)


def test_content_hashes_follow_content_not_comments(tmp_path: Path):
    conda = {"dependencies": ["python=3.11"]}
    assert assets.environment_hash("image:1", conda) == assets.environment_hash(
        "image:1", dict(conda)
    )
    assert assets.environment_hash("image:1", conda) != assets.environment_hash("image:2", conda)
    data = tmp_path / "d.csv"
    data.write_text("a\n1\n")
    first = assets.file_hash(data)
    data.write_text("a\n2\n")
    assert assets.file_hash(data) != first


def test_a_spec_that_is_not_yaml_is_one_line_naming_the_line(tmp_path: Path):
    path = tmp_path / "job.yml"
    path.write_text("$schema: x\ncommand: [unclosed\n")
    with pytest.raises(UserError, match=r"job\.yml is not valid YAML \(line \d+\)"):
        specs.load_spec(path)


def test_values_for_inputs_the_spec_lacks_are_refused_naming_the_spec():
    with pytest.raises(UserError, match=r"^train\.yml has no input\(s\) nope; its inputs are "):
        specs.check_inputs(AZUREML / "train.yml", read("train.yml")["inputs"], {"nope": 1})


# Names a shell would split, quote or run: each must reach the step as it is in invoke.yaml.
AWKWARD = {
    "target": "Preis (€)",
    "experiment_name": "my experiment; echo $HOME",
    "model_name": "it's a model",
    "features": ["Größe (m²)", "a,b", "all"],
}
# A value for each other input of a component, by its type (folders and models: a mount path).
SAMPLE = {"number": "0.05", "integer": "3", "boolean": "false"}


def pasted(spec: dict, values: dict) -> list[str]:
    """The spec's command as an Azure ML job's shell splits it: each value pasted in as it is."""
    command = re.sub(r"\$\{\{inputs\.(\w+)\}\}", lambda m: str(values[m[1]]), spec["command"])
    return shlex.split(re.sub(r"\$\{\{outputs\.(\w+)\}\}", r"/mnt/\1", command))


def component_values(spec: dict, settings: Settings) -> dict:
    given = specs.project_inputs(settings)
    return {
        name: given.get(name, SAMPLE.get(declared["type"], f"/mnt/{name}"))
        for name, declared in spec["inputs"].items()
    }


def test_names_pasted_into_the_job_command_come_back_whole(tmp_path):
    from diabetes_model.train_config import TrainingConfig

    spec = read("train.yml")
    settings = make_project(tmp_path, project=AWKWARD).settings
    values = {**specs.job_inputs(spec), **specs.project_inputs(settings), "data": "/mnt/d.csv"}
    config = TrainingConfig.from_argv(pasted(spec, values)[3:])  # after python -m <module>
    assert config.target == "Preis (€)"
    assert config.experiment == "my experiment; echo $HOME"
    assert config.model_name == "it's a model"
    assert config.features == ("Größe (m²)", "a,b", "all")


def test_names_pasted_into_the_pipeline_steps_come_back_whole(tmp_path):
    from diabetes_model.steps.evaluate import EvaluateConfig
    from diabetes_model.steps.prep import PrepConfig
    from diabetes_model.steps.register import RegisterConfig
    from diabetes_model.train_config import TrainingConfig

    settings = make_project(tmp_path, project=AWKWARD).settings

    def parsed(step: str, config_class):
        spec = read(f"components/{step}.yml")
        return config_class.from_argv(pasted(spec, component_values(spec, settings))[3:])

    assert parsed("prep", PrepConfig).target == "Preis (€)"
    assert parsed("prep", PrepConfig).features == ("Größe (m²)", "a,b", "all")
    trained = parsed("train", TrainingConfig)
    assert (trained.target, trained.experiment) == ("Preis (€)", "my experiment; echo $HOME")
    assert parsed("evaluate", EvaluateConfig).model_name == "it's a model"
    assert parsed("register", RegisterConfig).model_name == "it's a model"
