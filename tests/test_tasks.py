"""tasks.py: each task runs the command it should, checked with invoke's MockContext."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from invoke import Config, Exit, MockContext, Result
from project_tasks import load_project_tasks
from projects import invoke_config

from diabetes_model.errors import Interrupted

ROOT = Path(__file__).resolve().parents[1]


tasks = load_project_tasks()


def context(exited: int = 0) -> MockContext:
    project = invoke_config()["project"]
    return MockContext(
        config=Config(overrides={"project": project}), run=Result(exited=exited), repeat=True
    )


def ran(c: MockContext) -> list[str]:
    return shlex.split(c.run.call_args.args[0])


TRAIN = [sys.executable, "-m", "diabetes_model.train"]


def spec_command(**hyperparameters: str) -> list[str]:
    """The command of azureml/train.yml with the project's values, as `invoke train` runs it."""
    values = {"learning-rate": "0.05", "max-iter": "200", "max-depth": "3", **hyperparameters}
    return [
        *TRAIN, "--data", "data/diabetes.csv", "--target", "target", "--task", "auto",
        "--features", "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6", "--ignore", "none", "--experiment", "diabetes-model",
        "--model-name", "diabetes-regressor", "--test-size", "0.2", "--random-state", "42",
        "--learning-rate", values["learning-rate"], "--max-iter", values["max-iter"],
        "--max-depth", values["max-depth"],
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({}, spec_command()),
        (
            {"max_iter": "50", "learning_rate": "0.1"},
            spec_command(**{"max-iter": "50", "learning-rate": "0.1"}),
        ),
        ({"max_depth": "4"}, spec_command(**{"max-depth": "4"})),
        (
            {"param": ["l2_regularization=1", "max_bins=63"]},
            [*spec_command(), "--param", "l2_regularization=1", "--param", "max_bins=63"],
        ),
        ({"no_register": True}, [*spec_command(), "--no-register"]),
    ],
)
def test_train_runs_the_job_specs_command_with_local_values(flags, expected, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    c = context()
    tasks.train(c, **flags)
    assert ran(c) == expected
    assert c.run.call_args.kwargs["env"] == {
        "MLFLOW_TRACKING_URI": f"sqlite:///{ROOT}/mlruns/mlflow.db"
    }


def test_train_flags_and_environment_override_invoke_yaml(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    c = context()
    tasks.train(c, data="/elsewhere/d.csv", experiment="trial")
    command = ran(c)
    assert command[command.index("--data") + 1] == "/elsewhere/d.csv"
    assert command[command.index("--experiment") + 1] == "trial"
    assert c.run.call_args.kwargs["env"]["MLFLOW_TRACKING_URI"] == "http://tracking.example:5000"


def test_a_failed_training_exits_with_its_code_and_adds_no_noise():
    with pytest.raises(Exit) as exited:
        tasks.train(context(exited=1))
    assert exited.value.code == 1
    assert not exited.value.message


def test_an_unknown_setting_in_invoke_yaml_is_one_line():
    c = MockContext(
        config=Config(overrides={"project": {"dataset": "x"}}), run=Result(), repeat=True
    )
    with pytest.raises(Exception, match=r"unknown setting 'dataset'"):
        tasks.train(c)


def test_ui_serves_the_project_store_on_this_machine_only_unless_told(monkeypatch):
    """The UI has no authentication: by default only this machine (and VS Code's or a codespace's
    port forwarding, which connects from inside) reaches it."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.delenv("CODESPACE_NAME", raising=False)
    c = context()
    tasks.ui(c)
    assert ran(c) == [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", f"sqlite:///{ROOT}/mlruns/mlflow.db",
                      "--host", "127.0.0.1", "--port", "5000"]  # fmt: skip
    tasks.ui(c, host="0.0.0.0")
    assert ran(c)[ran(c).index("--host") + 1] == "0.0.0.0"


def test_ui_in_a_codespace_allows_the_forwarded_host(monkeypatch):
    monkeypatch.setenv("CODESPACE_NAME", "fluffy-space")
    monkeypatch.setenv("GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN", "app.github.dev")
    c = context()
    tasks.ui(c)
    command = ran(c)
    assert "fluffy-space-5000.app.github.dev" in command[command.index("--allowed-hosts") + 1]
    assert (
        "https://fluffy-space-5000.app.github.dev"
        in command[command.index("--cors-allowed-origins") + 1]
    )


@pytest.mark.parametrize(
    ("flags", "extra"),
    [
        ({}, []),
        ({"k": "dataset"}, ["-k", "dataset"]),
        ({"x": True}, ["-x"]),
        ({"quick": True}, ["-m", "not slow"]),
    ],
)
def test_test_runs_pytest(flags, extra):
    c = context()
    tasks.test(c, **flags)
    parallel = ["--numprocesses=auto", "--dist=loadfile"]
    assert ran(c) == [sys.executable, "-m", "pytest", *parallel, *extra]


def test_lint_runs_every_pre_commit_hook_and_says_how_to_fix():
    c = context(exited=1)
    with pytest.raises(Exit, match=r"lint failed: fix the findings"):
        tasks.lint(c)
    assert ran(c)[:5] == [sys.executable, "-m", "pre_commit", "run", "--all-files"]


def test_data_without_a_source_writes_the_bundled_set(tmp_path, capsys):
    c = context()
    tasks.data(c, output=str(tmp_path / "d.csv"))
    assert "wrote" in capsys.readouterr().out
    assert (tmp_path / "d.csv").is_file()


def test_data_with_a_bad_checksum_is_one_line_and_exit_1(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("age,target\n" + "1,2\n" * 20)
    with pytest.raises(Exit) as exited:
        tasks.data(context(), source=str(source), sha256="0" * 64, output=str(tmp_path / "out.csv"))
    assert exited.value.code == 1
    assert exited.value.message.startswith("error: sha256 mismatch")


def test_every_task_has_a_docstring_and_help_for_every_flag():
    from invoke import Collection

    collection = Collection.from_module(tasks)
    for name in collection.task_names:
        task = collection[name]
        assert task.__doc__ and task.__doc__.strip().splitlines()[0], name
        flags = [arg for arg in task.get_arguments()]
        missing = [flag.name for flag in flags if not flag.help]
        assert not missing, f"{name}: no help for {missing}"


def test_invoke_list_imports_no_heavy_library():
    code = (
        "import sys, runpy; sys.argv = ['invoke', '--list'];"
        "from invoke.main import program\n"
        "try:\n    program.run()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('mlflow', 'sklearn', 'azure', 'pandas', 'numpy') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert "train" in done.stdout
    assert "HEAVY []" in done.stdout, done.stdout + done.stderr


def invoke_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_number_flags_show_their_type_and_refuse_a_bad_value_in_one_line_before_any_work():
    helped = invoke_cli("--help", "train").stdout
    assert "--max-iter=INT" in helped and "--max-depth=INT" in helped
    refused = invoke_cli("train", "--max-iter", "abc")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: --max-iter 'abc' is not a whole number"
    assert refused.stdout == ""


def test_no_flag_has_an_automatic_short_form_that_means_different_things_per_task():
    """Only `invoke test -k/-x`, named after pytest's own flags, are one letter long."""
    from invoke import Collection

    collection = Collection.from_module(tasks)
    letters = set()
    for name in collection.task_names:
        for argument in collection[name].get_arguments():
            assert len(argument.names) == 1, (name, argument.names)
            letters |= {(name, n) for n in argument.names if len(n) == 1}
    assert letters == {("test", "k"), ("test", "x")}


def test_invoke_list_reads_as_a_menu_of_groups():
    from invoke import Collection

    collection = Collection.from_module(tasks)
    groups = {}
    for name in collection.task_names:
        group = collection[name].__doc__.strip().split(" · ")[0]
        groups.setdefault(group, []).append(name)
    assert set(groups) == {"local", "azure", "serving", "workspace"}
    assert {"data", "train", "sweep", "ui"} <= set(groups["local"])
    assert {"register", "compute"} <= set(groups["azure"])
    # copier: deploy-begin
    assert "deploy" in groups["azure"]
    # copier: deploy-end


def test_a_named_hyperparameter_given_through_param_is_refused_not_ignored(monkeypatch, tmp_path):
    """--param max_iter=5 used to train with max_iter=200; it names the flag to use instead."""
    c = context()
    with pytest.raises(Exit, match=r"use --max-iter 5 instead"):
        tasks.train(c, param=["max_iter=5"], dry_run=True)
    done = subprocess.run(
        [*TRAIN, "--data", "x.csv", "--max-iter", "200", "--param", "max_iter=5"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().endswith("max_iter has its own flag; use --max-iter 5 instead")


def test_a_typo_in_invoke_yaml_is_one_line_in_every_task():
    c = MockContext(config=Config(overrides={"project": {"targt": "y"}}), run=Result(), repeat=True)
    for name in ("train", "sweep", "ui", "serve", "predict", "drift", "doctor", "data"):
        with pytest.raises(Exit, match=r"^error: unknown setting 'targt' in invoke\.yaml"):
            getattr(tasks, name)(c)


def test_list_settings_can_be_overridden_from_the_environment(tmp_path):
    """invoke refuses an INVOKE_* variable for a YAML list (a traceback); invoke.yaml's lists
    are comma-separated text, so the variable works."""
    env = {
        **os.environ,
        "INVOKE_PROJECT_FEATURES": "age,bmi",
        "INVOKE_AZURE_OUTPUT_DIR": str(tmp_path),
    }
    env["INVOKE_AZURE_NOTIFY_EMAILS"] = "ops@example.org"
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "train", "--dry-run"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    job = yaml.safe_load((tmp_path / "train-job.yml").read_text())
    assert job["inputs"]["features"] == "age,bmi"


@pytest.mark.parametrize(
    ("raised", "said"),
    [
        (
            lambda: Interrupted("interrupted in step train: it kept no outputs"),
            "interrupted in step train",
        ),
        (KeyboardInterrupt, "interrupted"),
    ],
)
def test_ctrl_c_in_a_task_is_one_line_and_exit_130(raised, said):
    """invoke itself would end a KeyboardInterrupt with exit 1 and nothing said."""

    def work():
        raise raised()

    with pytest.raises(Exit) as exited:
        tasks._checked(work)
    assert exited.value.code == 130
    assert str(exited.value.message).startswith(said)
