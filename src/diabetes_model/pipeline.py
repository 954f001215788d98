"""`invoke pipeline`: the steps of azureml/pipeline.yml, in order, on this machine.

Each step's command is its component's (azureml/components/), resolved with local values: the
pipeline's data input is the local file, every output a folder under outputs/pipeline/<step>/,
every `${{parent.jobs.X.outputs.Y}}` the folder step X wrote. The command's module then runs in
this process (as the local sweep runs its trials): one interpreter, whose imports every step
shares. A step whose inputs and code have not changed is reused (`pipeline_state.py`); `force`
runs every step. Outputs are written to a staging folder and moved into place when the step ends.
`invoke pipeline --remote`: azure/pipeline.py.
"""

from __future__ import annotations

import gc
import shlex
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diabetes_model import pipeline_state as state
from diabetes_model.console import Say
from diabetes_model.errors import Interrupted, UserError
from diabetes_model.pipeline_specs import PipelineSpec, Step, load_pipeline, parse_binding
from diabetes_model.project import Project

PACKAGE = Path(__file__).resolve().parent
TRAINING_MODULE = "diabetes_model.train"
DATA_TYPES = ("uri_file", "uri_folder", "mlflow_model")


@dataclass(frozen=True)
class PipelineRequest:
    """What the task's flags change: the training's hyperparameters, and how to run."""

    overrides: Mapping[str, Any] = field(default_factory=dict)  # pipeline inputs, e.g. max_iter
    train_args: tuple[str, ...] = ()  # added to the train step's command (--param NAME=VALUE)
    force: bool = False
    promote_anyway: bool = False


@dataclass(frozen=True)
class StepOutcome:
    name: str
    reused: bool
    seconds: float


@dataclass(frozen=True)
class PipelineRun:
    run_id: str
    steps: tuple[StepOutcome, ...]
    registration: dict[str, Any]  # the register step's registration.json
    output_dir: Path

    @property
    def summary(self) -> str:
        return str(self.registration.get("summary", ""))


def pipeline_inputs(project: Project, spec: PipelineSpec, request: PipelineRequest) -> dict:
    """The pipeline's inputs with local values: the spec's, the project's settings, the flags."""
    from diabetes_model.job_specs import check_inputs, project_inputs

    given = {
        **project_inputs(project.settings),
        **request.overrides,
        "tolerance": project.pipeline.tolerance,
        "promote_anyway": request.promote_anyway,
    }
    check_inputs(spec.path, spec.inputs, given)
    return {**spec.inputs, **given, "data": project.data_path}


def step_inputs(step: Step, parent: Mapping[str, Any], output_dir: Path) -> dict[str, Any]:
    """Each input of the step's component: a literal, a pipeline input, or an earlier step's
    output folder."""
    values = {}
    for name, declared in step.inputs.items():
        binding = step.bindings.get(name, (declared or {}).get("default"))
        found = parse_binding(binding)
        if found is None:
            values[name] = binding
        elif found["input"]:
            values[name] = parent[found["input"]]
        else:
            values[name] = output_dir / found["step"] / found["output"]
    return values


def step_argv(
    step: Step, values: Mapping[str, Any], outputs: Mapping[str, Path] | None
) -> list[str]:
    """The step's command as argv; with `outputs` None, its output placeholders stay as written
    (the form a fingerprint hashes, independent of where a run stages its outputs)."""
    from diabetes_model.job_specs import resolve_command

    command = step.command
    for name, path in (outputs or {}).items():
        command = command.replace(f"${{{{outputs.{name}}}}}", shlex.quote(str(path)))
    return resolve_command(command, step.inputs, {k: str(v) for k, v in values.items()})


def run_pipeline(
    project: Project, request: PipelineRequest, environ: Mapping[str, str], say: Say = print
) -> PipelineRun:
    """Run or reuse every step; returns what happened and the register step's verdict.
    `environ` is the caller's environment, read here once for the run's provenance (CI)."""
    from diabetes_model.steps.common import read_json
    from diabetes_model.steps.register import RECORD_FILE

    spec = load_pipeline(project.specs.pipeline)
    parent = pipeline_inputs(project, spec, request)
    out = project.path(project.pipeline.output_dir)
    run_id = f"local-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
    runner = _Runner(project, request, parent, out, step_environ(project, environ, run_id), say)
    with _quiet_downloads(), _collector_paused():
        outcomes = tuple(runner.reuse_or_run(step) for step in spec.steps)
        runner.remember_champion([step for step in spec.steps if not step.deterministic])
    last = spec.steps[-1]
    registration = read_json(out / last.name / "record" / RECORD_FILE, f"the {last.name} step")
    return PipelineRun(run_id, outcomes, registration, out)


def step_environ(project: Project, environ: Mapping[str, str], run_id: str) -> dict[str, str]:
    """The provenance the register step records, as the variables an Azure ML step gets."""
    from diabetes_model.gitinfo import git_info
    from diabetes_model.governance import Provenance

    provenance = Provenance.collect(
        git_info(project.root),
        environ,
        environment=environment_label(project),
        data_asset=project.shown(project.data_path),
        pipeline_run=run_id,
    )
    return provenance.as_environ()


def environment_label(project: Project) -> str:
    """The Azure ML environment whose pins this machine runs (pyproject.toml's are the same,
    tests/test_environment.py checks), by the content hash Azure ML would version it with."""
    import platform

    import yaml

    from diabetes_model.azure.assets import environment_hash
    from diabetes_model.job_specs import load_spec

    spec_path = project.specs.environment
    spec = load_spec(spec_path)
    conda = yaml.safe_load((spec_path.parent / spec["conda_file"]).read_text(encoding="utf-8"))
    version = environment_hash(spec["image"], conda)
    return f"{spec['name']}:{version} (its pins, run locally on Python {platform.python_version()})"


class _Runner:
    """One local pipeline run: reuse or run each step, in order."""

    def __init__(
        self,
        project: Project,
        request: PipelineRequest,
        parent: Mapping[str, Any],
        out: Path,
        environ: Mapping[str, str],
        say: Say,
    ) -> None:
        self.project, self.request, self.parent, self.out = project, request, parent, out
        self.environ, self.say = environ, say
        self.source = state.source_hash(PACKAGE)
        self._champion: str | None = None

    def champion(self) -> str:
        """The registry's champion (cached until a step that changes the registry runs)."""
        if self._champion is None:
            settings = self.project.settings
            self._champion = state.champion_token(self.project.tracking_uri, settings.model_name)
        return self._champion

    def reuse_or_run(self, step: Step) -> StepOutcome:
        values = step_inputs(step, self.parent, self.out)
        extra = list(self.request.train_args) if step.module == TRAINING_MODULE else []
        inputs = [
            Path(values[n]) for n, d in step.inputs.items() if (d or {}).get("type") in DATA_TYPES
        ]
        fingerprint = state.fingerprint(
            shlex.join(step_argv(step, values, None) + extra), inputs, self.source
        )
        folder = self.out / step.name
        if not self.request.force and self._reusable(step, folder, fingerprint):
            self.say(f"{step.name}: reused (inputs and code unchanged)")
            return StepOutcome(step.name, True, 0.0)
        self.say(f"{step.name}: python -m {step.module}")
        seconds = self._run(step, values, extra, folder)
        state.write_record(folder, state.StepRecord(fingerprint, round(seconds, 3)))
        if not step.deterministic:
            self._champion = None
        return StepOutcome(step.name, False, seconds)

    def _reusable(self, step: Step, folder: Path, fingerprint: str) -> bool:
        record = state.read_record(folder)
        if record is None or record.fingerprint != fingerprint:
            return False
        if not all((folder / name).is_dir() for name in step.outputs):
            return False
        return step.deterministic or record.champion == self.champion()

    def _run(self, step: Step, values: Mapping[str, Any], extra: list[str], folder: Path) -> float:
        """Run the step's command into a staging folder; move its outputs into place on success."""
        staging = folder / f".staging-{uuid.uuid4().hex[:8]}"
        outputs = {name: staging / name for name in step.outputs}
        for path in outputs.values():
            path.mkdir(parents=True)
        start = time.perf_counter()
        try:
            argv = step_argv(step, values, outputs) + extra
            _execute(step, argv[3:], self.project.tracking_uri, self.environ)
            state.forget(folder)
            for name, path in outputs.items():
                shutil.rmtree(folder / name, ignore_errors=True)
                path.rename(folder / name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return time.perf_counter() - start

    def remember_champion(self, steps: list[Step]) -> None:
        """Record the champion the run ended with on the steps that read the registry: they are
        reused next time only while it is still the champion."""
        champion = self.champion()
        for step in steps:
            record = state.read_record(self.out / step.name)
            if record is not None:
                state.write_record(
                    self.out / step.name,
                    state.StepRecord(record.fingerprint, record.seconds, champion),
                )


def _execute(step: Step, argv: list[str], tracking_uri: str, environ: Mapping[str, str]) -> None:
    """The step's module, called in this process with the command's arguments."""
    import importlib

    try:
        if step.module == TRAINING_MODULE:
            from diabetes_model.train import TrainingConfig, report, train_and_log

            config = TrainingConfig.from_argv(argv)
            print(report(config, train_and_log(config, tracking_uri)))
            return
        code = importlib.import_module(step.module).run(argv, tracking_uri, environ)
    except UserError as error:
        raise UserError(
            f"step {step.name} failed: {error}; the steps after it did not run"
        ) from None
    except KeyboardInterrupt:
        run = (
            " (the run it began, if any, is marked KILLED)"
            if step.module == TRAINING_MODULE
            else ""
        )
        raise Interrupted(
            f"interrupted in step {step.name}: it kept no outputs{run}, and the steps after it "
            "did not run"
        ) from None
    if code:
        raise UserError(f"step {step.name} failed (exit {code}); the steps after it did not run")


@contextmanager
def _quiet_downloads() -> Iterator[None]:
    """MLflow draws a progress bar for every model it downloads (the champion): noise here."""
    import os

    name = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    previous = os.environ.get(name)
    os.environ[name] = "false"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


@contextmanager
def _collector_paused() -> Iterator[None]:
    """As `python -m diabetes_model.train` does (see its __main__): the cyclic garbage collector
    would walk the millions of objects mlflow, scikit-learn and pandas create while they load,
    again and again; the fit itself collects as usual (core.fitting.cyclic_gc_while_fitting)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
