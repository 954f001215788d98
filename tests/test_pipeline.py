"""`invoke pipeline` on this machine: prep -> train -> evaluate -> register from the component
YAMLs, the gate between a new model and the champion, step reuse, and the governance record on
every version it registers. Small models (a few boosting iterations) on the bundled 442 rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient
from projects import make_project

from diabetes_model.errors import UserError
from diabetes_model.gitinfo import git_info
from diabetes_model.pipeline import PipelineRequest, run_pipeline

GOOD = {"max_iter": 30}
WORSE = {"max_iter": 1}  # one boosting iteration: barely better than the mean


@pytest.fixture
def project(tmp_path: Path, diabetes_csv: Path):
    return make_project(tmp_path, project={"data_path": str(diabetes_csv)})


@pytest.fixture
def registry(isolated_mlflow: str) -> MlflowClient:
    return MlflowClient(isolated_mlflow)


def run(project, said=None, environ=None, **request):
    request.setdefault("overrides", GOOD)
    return run_pipeline(
        project,
        PipelineRequest(**request),
        environ or {},
        say=said.append if said is not None else print,
    )


def champion(registry: MlflowClient) -> str | None:
    aliases = registry.get_registered_model("diabetes-regressor").aliases
    return str(aliases["champion"]) if "champion" in aliases else None


def test_a_first_pipeline_promotes_its_model_to_champion(project, registry):
    done = run(project)

    assert [step.name for step in done.steps] == ["prep", "train", "evaluate", "register"]
    assert done.registration["promoted"] is True
    assert champion(registry) == done.registration["version"] == "1"
    assert done.summary.startswith("promoted: diabetes-regressor version 1 is the champion")


def test_a_clearly_worse_model_is_kept_out_and_the_champion_stays(project, registry, capsys):
    run(project)
    capsys.readouterr()

    done = run(project, overrides=WORSE)  # returns normally: the pipeline did its job

    assert done.registration["promoted"] is False
    assert champion(registry) == "1"
    assert [v.version for v in registry.search_model_versions("name='diabetes-regressor'")] == [1]
    out = capsys.readouterr().out
    assert "not promoted: test_rmse " in out
    assert "vs champion version 1's " in out and "% worse, beyond the 1.0% tolerance" in out
    decision = json.loads((done.output_dir / "evaluate" / "report" / "decision.json").read_text())
    assert decision["metric"] == "test_rmse" and decision["margin"] > 0.01


def test_an_equal_model_passes_and_becomes_the_champion(project, registry):
    run(project)

    done = run(project, force=True)  # retrained: the same data, seed and hyperparameters

    assert done.registration["promoted"] is True
    assert "equal" in done.registration["reason"]
    assert champion(registry) == "2"


def test_unchanged_steps_are_reused_and_force_runs_them_all(project, registry):
    said: list[str] = []
    run(project)

    again = run(project, said=said)
    assert [step.reused for step in again.steps] == [True, True, True, True]
    assert said == [
        f"{name}: reused (inputs and code unchanged)"
        for name in ["prep", "train", "evaluate", "register"]
    ]
    assert [v.version for v in registry.search_model_versions("name='diabetes-regressor'")] == [1]

    changed = run(project, overrides={"max_iter": 31})
    assert [step.reused for step in changed.steps] == [True, False, False, False]

    forced = run(project, overrides={"max_iter": 31}, force=True)
    assert [step.reused for step in forced.steps] == [False, False, False, False]


def test_a_new_champion_makes_the_registry_reading_steps_run_again(project, registry):
    run(project)
    run(project, overrides=WORSE)  # kept out
    registry.set_registered_model_alias("diabetes-regressor", "champion", "1")  # unchanged: reused
    assert all(step.reused for step in run(project, overrides=WORSE).steps)

    registry.delete_registered_model_alias("diabetes-regressor", "champion")
    again = run(project, overrides=WORSE)

    assert [step.reused for step in again.steps] == [True, True, False, False]


def test_the_registered_version_carries_its_governance_record(project, registry):
    environ = {
        "GITHUB_ACTOR": "octocat",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "example/diabetes",
        "GITHUB_RUN_ID": "42",
    }
    done = run(project, environ=environ)

    tags = registry.get_model_version("diabetes-regressor", "1").tags
    split = json.loads((done.output_dir / "prep" / "train" / "split.json").read_text())
    assert tags["data.sha256"] == split["source"]["sha256"]
    assert tags["data.asset"] == str(project.data_path)  # outside the project: the full path
    git = git_info(project.root)
    assert tags["git.commit"] == git.commit
    assert tags.get("git.message", "") == git.message  # the commit's subject: why it changed
    assert tags["triggered_by"] == "octocat"
    assert tags["ci.run_url"] == "https://github.com/example/diabetes/actions/runs/42"
    assert tags["environment"].startswith("diabetes-model-env:")
    assert tags["pipeline.run"] == done.run_id
    assert registry.get_run(tags["training.run"]).data.params["max_iter"] == "30"
    assert tags["evaluation.result"] == "passed"
    assert tags["evaluation.champion"] == "none"
    assert "promoted_anyway" not in tags


def test_promote_anyway_overrides_the_gate_and_says_so_on_the_version(project, registry):
    run(project)

    done = run(project, overrides=WORSE, promote_anyway=True)

    assert done.summary.startswith(
        "promoted anyway (--promote-anyway): diabetes-regressor version 2"
    )
    assert champion(registry) == "2"
    tags = registry.get_model_version("diabetes-regressor", "2").tags
    assert tags["promoted_anyway"] == "true"
    assert tags["evaluation.result"] == "failed"
    assert tags["evaluation.champion"] == "version 1"


def test_the_candidate_run_shows_its_evaluation_in_mlflow(project, registry):
    done = run(project)

    run_id = registry.get_model_version("diabetes-regressor", "1").run_id
    artifacts = {a.path for a in registry.list_artifacts(run_id, "evaluation")}
    assert artifacts == {
        "evaluation/decision.json",
        "evaluation/evaluation.png",
        "evaluation/report.md",
    }
    assert registry.get_run(run_id).data.tags["gate.result"] == "passed"
    report = (done.output_dir / "evaluate" / "report" / "report.md").read_text()
    assert "| test_rmse (primary) |" in report


def test_a_failing_step_stops_the_pipeline_in_one_line_and_leaves_no_outputs(
    project, tmp_path, registry
):
    bad = tmp_path / "bad.csv"
    bad.write_text("age,bmi\n1,2\n")
    broken = make_project(tmp_path, project={"data_path": str(bad)})

    with pytest.raises(UserError, match=r"^step prep failed: .*no target column 'target'"):
        run(broken)
    prep = Path(broken.pipeline.output_dir) / "prep"
    assert not prep.exists() or [p.name for p in prep.iterdir()] == []
    assert registry.search_registered_models() == []


def test_ctrl_c_in_a_step_keeps_the_last_outputs_and_says_where_it_stopped(
    project, registry, monkeypatch
):
    from diabetes_model.errors import Interrupted
    from diabetes_model.steps import evaluate

    first = run(project)
    report = first.output_dir / "evaluate" / "report" / "decision.json"
    before = report.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate, "run", interrupted)
    with pytest.raises(Interrupted, match=r"^interrupted in step evaluate: it kept no outputs"):
        run(project, force=True)
    assert report.read_bytes() == before  # the last complete outputs, not half of new ones
    assert [p.name for p in report.parents[1].iterdir() if p.name.startswith(".")] == []
    assert champion(registry) == "1"  # register did not run


def test_an_unknown_hyperparameter_input_is_refused_before_any_step(project):
    with pytest.raises(UserError, match=r"pipeline\.yml has no input\(s\) n_trees"):
        run(project, overrides={"n_trees": 5})
    assert not Path(project.pipeline.output_dir).exists()


@pytest.mark.parametrize(
    ("section", "error"),
    [
        ({"tolerence": 0.1}, r"unknown setting 'tolerence' in invoke\.yaml \(pipeline:\)"),
        ({"tolerance": 1.5}, r"tolerance is 1\.5; .* fix pipeline\.tolerance in invoke\.yaml"),
        (
            {"tolerance": "lots"},
            r"setting 'tolerance' in invoke\.yaml \(pipeline:\) has an invalid",
        ),
    ],
)
def test_the_pipeline_section_of_invoke_yaml_is_checked_when_read(tmp_path, section, error):
    with pytest.raises(UserError, match=error):
        make_project(tmp_path, pipeline=section)
