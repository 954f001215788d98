"""`invoke sweep`: the sweep spec's search space run on this machine, each trial a child MLflow
run of one parent run, each trial the spec's own trial command; the best trial is reported."""

from __future__ import annotations

import contextlib
import math
import os
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diabetes_model.azure import specs
from diabetes_model.errors import UserError

TRAIN_MODULE = ["python", "-m", "diabetes_model.train"]


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


def run_sweep(
    spec_path: Path,
    data_file: Path,
    inputs: Mapping[str, Any],
    tracking_uri: str,
    *,
    trials: int = 0,
    say: Callable[[str], None] = print,
    train: Callable[[list[str]], int] | None = None,
) -> Trial:
    """Run the trials as child runs of one parent run; the best one is tagged on the parent."""
    from mlflow import MlflowClient

    from diabetes_model import tracking

    spec = specs.load_spec(spec_path)
    objective = spec["objective"]
    metric, goal = objective["primary_metric"], objective["goal"]
    sampling = spec.get("sampling_algorithm") or {}
    if isinstance(sampling, str) or sampling.get("type", "random") != "random":
        say("note: the local sweep samples at random whatever the spec's sampling algorithm")
    seed = int(sampling.get("seed", 0)) if isinstance(sampling, dict) else 0
    count = trials or int(spec["limits"]["max_total_trials"])
    declared = specs.job_inputs(spec)
    unknown = specs.unknown_overrides(declared, inputs)
    if unknown:
        raise UserError(f"{spec_path.name} has no input(s) {', '.join(unknown)}")
    train = train or _train_main

    experiment_id = tracking.use_store(tracking_uri, str(inputs["experiment"]))
    client = MlflowClient(tracking_uri)
    parent = client.create_run(
        experiment_id,
        run_name=f"sweep {spec_path.stem}",
        tags={"sweep.primary_metric": metric, "sweep.goal": goal, "sweep.trials": str(count)},
    )
    parent_id = parent.info.run_id
    done: list[Trial] = []
    for number, values in enumerate(sample_trials(spec["search_space"], count, seed), start=1):
        argv = specs.resolve_command(
            spec["trial"]["command"], declared, {**inputs, "data": str(data_file)}, values
        )
        if argv[:3] != TRAIN_MODULE:
            raise UserError(
                f"the local sweep runs `{' '.join(TRAIN_MODULE)}` trials; fix sweep.yml"
            )
        child = client.create_run(
            experiment_id, run_name=f"trial {number}", tags={"mlflow.parentRunId": parent_id}
        )
        run_id = child.info.run_id
        # The training attaches to this run as it does to an Azure ML job's run.
        with _environment(MLFLOW_RUN_ID=run_id, MLFLOW_TRACKING_URI=tracking_uri):
            code = train(argv[3:])
        score = client.get_run(run_id).data.metrics.get(metric) if code == 0 else None
        if code != 0:
            client.set_terminated(run_id, "FAILED")
        done.append(Trial(number, values, run_id, score))
        shown = "failed" if score is None else f"{metric} {score:.4g}"
        say(f"trial {number}/{count}: {_describe(values)} -> {shown}")

    best = best_trial(done, goal)
    if best is None:
        client.set_terminated(parent_id, "FAILED")
        raise UserError(f"no trial logged {metric}; see the trials' errors above")
    client.log_metric(parent_id, f"best_{metric}", best.metric)
    for name, value in best.values.items():
        client.log_param(parent_id, name, value)
    client.set_tag(parent_id, "sweep.best_run_id", best.run_id)
    client.set_terminated(parent_id, "FINISHED")
    say(f"best: trial {best.number} ({_describe(best.values)}), {metric} {best.metric:.4g}")
    say(f"      run {best.run_id} under sweep run {parent_id}")
    return best


def _train_main(argv: list[str]) -> int:
    from diabetes_model.train import main

    return main(argv)


def _describe(values: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
    )


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
