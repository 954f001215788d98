"""`invoke sweep`: the sweep spec's search space run on this machine, each trial a child MLflow
run of one parent run, each trial the spec's own trial command (parsed into a TrainingConfig and
trained in this process); the best trial is reported. `invoke sweep --remote`: azure/jobs.py."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from diabetes_model import job_specs
from diabetes_model.console import Say
from diabetes_model.errors import Interrupted, UserError
from diabetes_model.project import Project


@dataclass(frozen=True)
class Trial:
    number: int
    values: dict[str, Any]
    run_id: str
    metric: float | None  # None: the trial failed or did not log the primary metric


def sample(distribution: Mapping[str, Any], rng: random.Random) -> Any:
    """One draw from an Azure ML search-space distribution (the sweep YAML's `type` names)."""
    kind = distribution.get("type")
    if kind == "choice":
        return rng.choice(list(distribution["values"]))
    if kind == "randint":
        return rng.randrange(int(distribution["upper"]))
    low, high = distribution.get("min_value"), distribution.get("max_value")
    if kind in ("uniform", "quniform"):
        value = rng.uniform(low, high)
    elif kind in ("loguniform", "qloguniform"):
        value = math.exp(rng.uniform(low, high))
    elif kind in ("normal", "qnormal"):
        value = rng.gauss(distribution["mu"], distribution["sigma"])
    elif kind in ("lognormal", "qlognormal"):
        value = math.exp(rng.gauss(distribution["mu"], distribution["sigma"]))
    else:
        raise UserError(
            f"search space type '{kind}' is not one Azure ML sweeps know; fix sweep.yml"
        )
    if kind.startswith("q"):
        q = distribution["q"]
        return round(value / q) * q
    return value


def sample_trials(
    search_space: Mapping[str, Mapping[str, Any]], count: int, seed: int
) -> list[dict[str, Any]]:
    """`count` random points of the search space, reproducible from the seed."""
    rng = random.Random(seed)
    return [{name: sample(d, rng) for name, d in search_space.items()} for _ in range(count)]


def best_trial(trials: list[Trial], goal: str) -> Trial | None:
    scored = [t for t in trials if t.metric is not None and math.isfinite(t.metric)]
    if not scored:
        return None
    pick = min if goal == "minimize" else max
    return pick(scored, key=lambda t: t.metric)


@dataclass(frozen=True)
class SweepPlan:
    """What the sweep spec asks for, checked before any trial runs."""

    metric: str
    goal: str
    trials: list[dict[str, Any]]
    command: str
    inputs: dict[str, Any]


def objective(project: Project) -> tuple[str, str]:
    """What a sweep optimizes: the task's primary metric on the test rows (test_rmse minimized for
    regression, test_roc_auc maximized for classification), the task read from the data as
    training reads it. azureml/sweep.yml's objective is the regression one; a classification
    table's sweeps, local and remote, use this instead."""
    from diabetes_model.core.metrics import PRIMARY
    from diabetes_model.tables import load_training_table

    settings = project.settings
    _, schema = load_training_table(
        project.data_path, settings.target, settings.features, settings.ignore, settings.task
    )
    metric, goal = PRIMARY[schema.task]
    return f"test_{metric}", goal


def plan_sweep(project: Project, trials: int = 0, say: Say = print) -> SweepPlan:
    """Read and check the sweep spec, and draw the trials."""
    from diabetes_model.job_specs import check_command

    spec_path = project.specs.sweep
    spec = job_specs.load_spec(spec_path)
    if trials < 0:
        raise UserError(f"--trials {trials} must be at least 1 (0: the spec's max_total_trials)")
    sampling = spec.get("sampling_algorithm") or {}
    if isinstance(sampling, str) or sampling.get("type", "random") != "random":
        say("note: the local sweep samples at random whatever the spec's sampling algorithm")
    seed = int(sampling.get("seed", 0)) if isinstance(sampling, dict) else 0
    count = trials or int(spec["limits"]["max_total_trials"])
    declared = job_specs.job_inputs(spec)
    values = job_specs.project_inputs(project.settings)
    job_specs.check_inputs(spec_path, declared, values)
    metric, goal = objective(project)
    plan = SweepPlan(
        metric=metric,
        goal=goal,
        trials=sample_trials(spec["search_space"], count, seed),
        command=spec["trial"]["command"],
        inputs={**declared, **values, "data": str(project.data_path)},
    )
    # Refused before any run exists: the trials train in this process, with the training module.
    first = job_specs.resolve_command(plan.command, plan.inputs, {}, plan.trials[0])
    check_command(first, "azureml/sweep.yml")
    return plan


def run_sweep(
    project: Project,
    *,
    trials: int = 0,
    say: Say = print,
    train: Callable[..., Any] | None = None,
) -> Trial:
    """Run the trials as child runs of one parent run; the best one is tagged on the parent."""
    from mlflow import MlflowClient

    from diabetes_model import tracking

    plan = plan_sweep(project, trials, say)
    uri = project.tracking_uri
    experiment_id = tracking.use_store(uri, project.settings.experiment_name)
    client = MlflowClient(uri)
    tags = {"sweep.primary_metric": plan.metric, "sweep.goal": plan.goal}
    parent = client.create_run(
        experiment_id, run_name="sweep", tags={**tags, "sweep.trials": str(len(plan.trials))}
    )
    parent_id = parent.info.run_id
    done = []
    for number, values in enumerate(plan.trials, start=1):
        child = client.create_run(
            experiment_id, run_name=f"trial {number}", tags={"mlflow.parentRunId": parent_id}
        )
        try:
            score = _run_trial(plan, values, child.info.run_id, uri, client, train, say)
        except KeyboardInterrupt:
            for run_id in (child.info.run_id, parent_id):  # the trial's may have ended already
                if client.get_run(run_id).info.status == "RUNNING":
                    client.set_terminated(run_id, "KILLED")
            raise Interrupted(
                f"interrupted in trial {number} of {len(plan.trials)}: the sweep run and that "
                f"trial are marked KILLED; the {number - 1} trial(s) before it are kept"
            ) from None
        done.append(Trial(number, values, child.info.run_id, score))
        shown = "failed" if score is None else f"{plan.metric} {score:.4g}"
        say(f"trial {number}/{len(plan.trials)}: {_describe(values)} -> {shown}")

    best = best_trial(done, plan.goal)
    if best is None:
        client.set_terminated(parent_id, "FAILED")
        raise UserError(f"no trial logged {plan.metric}; see the trials' errors above")
    client.log_metric(parent_id, f"best_{plan.metric}", best.metric)
    for name, value in best.values.items():
        client.log_param(parent_id, name, value)
    client.set_tag(parent_id, "sweep.best_run_id", best.run_id)
    client.set_terminated(parent_id, "FINISHED")
    say(f"best: trial {best.number} ({_describe(best.values)}), {plan.metric} {best.metric:.4g}")
    say(f"      run {best.run_id} under sweep run {parent_id}")
    return best


def _run_trial(
    plan: SweepPlan,
    values: dict[str, Any],
    run_id: str,
    uri: str,
    client: Any,
    train: Any,
    say: Say,
) -> float | None:
    """One trial: the spec's trial command as a TrainingConfig, trained into the child run."""
    from diabetes_model.train import TrainingConfig, train_and_log

    argv = job_specs.resolve_command(plan.command, plan.inputs, {}, values)
    try:
        config = TrainingConfig.from_argv(argv[3:])
        trained = (train or train_and_log)(config, uri, run_id=run_id)
    except UserError as error:
        say(f"error: {error}")
        client.set_terminated(run_id, "FAILED")
        return None
    return trained.metrics.get(plan.metric)


def _describe(values: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
    )
