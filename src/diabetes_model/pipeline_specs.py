"""The pipeline spec (azureml/pipeline.yml) and its components (azureml/components/*.yml) as plain
data: the steps in order, each with its command, its inputs' bindings and its outputs. The local
runner (`pipeline.py`) and the Azure submission (`azure/pipeline.py`) read it from here, and so do
the tests that check every `${{parent...}}` binding names something that exists.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diabetes_model.errors import UserError
from diabetes_model.job_specs import load_spec

# ${{parent.inputs.X}}, ${{parent.jobs.STEP.outputs.Y}}, ${{parent.outputs.Z}} in a step's bindings.
BINDING = re.compile(
    r"^\$\{\{\s*parent\.(?:inputs\.(?P<input>\w+)|jobs\.(?P<step>\w+)\.outputs\.(?P<output>\w+)"
    r"|outputs\.(?P<parent_output>\w+))\s*\}\}$"
)
# ${{inputs.X}} and ${{outputs.Y}} in a component's command.
PLACEHOLDER = re.compile(r"\$\{\{\s*(?P<scope>inputs|outputs)\.(?P<name>\w+)\s*\}\}")


@dataclass(frozen=True)
class Step:
    """One job of the pipeline and the component it runs."""

    name: str
    component_path: Path
    component: dict[str, Any]
    bindings: dict[str, Any]  # the node's inputs: literals or ${{parent...}} bindings

    @property
    def command(self) -> str:
        return " ".join(str(self.component["command"]).split())

    @property
    def module(self) -> str:
        """The module the command runs (`python -m MODULE ...`)."""
        words = shlex.split(self.command)
        if words[:2] != ["python", "-m"] or len(words) < 3:
            raise UserError(
                f"{self.component_path.name}'s command must start with `python -m <module>` "
                f"(it starts `{' '.join(words[:3])}`); fix the component"
            )
        return words[2]

    @property
    def inputs(self) -> dict[str, Any]:
        return dict(self.component.get("inputs") or {})

    @property
    def outputs(self) -> dict[str, Any]:
        return dict(self.component.get("outputs") or {})

    @property
    def deterministic(self) -> bool:
        """False for a step that reads or changes the registry: the same inputs may differ."""
        return bool(self.component.get("is_deterministic", True))


@dataclass(frozen=True)
class PipelineSpec:
    path: Path
    spec: dict[str, Any]
    steps: tuple[Step, ...]

    @property
    def inputs(self) -> dict[str, Any]:
        return dict(self.spec.get("inputs") or {})

    def step(self, name: str) -> Step:
        return next(step for step in self.steps if step.name == name)


def load_pipeline(path: Path) -> PipelineSpec:
    """The pipeline and its components, checked: every binding names a declared pipeline input or
    an output of an earlier step, every component input is bound or has a default, and every
    placeholder in a command is a declared input or output."""
    spec = load_spec(path)
    steps: list[Step] = []
    for name, node in (spec.get("jobs") or {}).items():
        component_path = (path.parent / str(node["component"])).resolve()
        component = load_spec(component_path)
        step = Step(name, component_path, component, dict(node.get("inputs") or {}))
        _check_step(path, spec, steps, step)
        _check_outputs(path, spec, step, dict(node.get("outputs") or {}))
        steps.append(step)
    if not steps:
        raise UserError(f"{path.name} has no jobs; restore it from git")
    return PipelineSpec(path, spec, tuple(steps))


def _check_step(path: Path, spec: Mapping[str, Any], earlier: list[Step], step: Step) -> None:
    where = f"{path.name} (job {step.name})"
    for input_name, binding in step.bindings.items():
        if input_name not in step.inputs:
            raise UserError(f"{where} binds input {input_name}, which its component lacks")
        _check_binding(where, spec, earlier, binding)
    unbound = [
        name
        for name, declared in step.inputs.items()
        if name not in step.bindings and "default" not in (declared or {})
    ]
    if unbound:
        raise UserError(f"{where} leaves input(s) {', '.join(unbound)} unbound; bind them")
    for match in PLACEHOLDER.finditer(step.command):
        declared = step.inputs if match["scope"] == "inputs" else step.outputs
        if match["name"] not in declared:
            raise UserError(
                f"{step.component_path.name}'s command uses {match['scope']}.{match['name']}, "
                "which the component does not declare"
            )
    step.module  # noqa: B018  (refuses a command that is not `python -m MODULE`)


def _check_binding(where: str, spec: Mapping[str, Any], earlier: list[Step], binding: Any) -> None:
    if not isinstance(binding, str) or "${{" not in binding:
        return  # a literal
    found = BINDING.match(binding.strip())
    if found is None:
        raise UserError(f"{where} has a binding azure-ai-ml would not resolve: {binding}")
    if found["input"] and found["input"] not in (spec.get("inputs") or {}):
        raise UserError(f"{where} uses parent input {found['input']}, which is not declared")
    if found["step"]:
        producer = next((s for s in earlier if s.name == found["step"]), None)
        if producer is None:
            raise UserError(f"{where} uses step {found['step']}'s output before that step runs")
        if found["output"] not in producer.outputs:
            raise UserError(
                f"{where} uses {found['step']}.outputs.{found['output']}: no such output"
            )
    if found["parent_output"]:
        raise UserError(f"{where} binds an input to a pipeline output; bind it to a step's output")


def _check_outputs(
    path: Path, spec: Mapping[str, Any], step: Step, outputs: Mapping[str, Any]
) -> None:
    """A node's outputs may only be bound to declared pipeline outputs."""
    for name, binding in outputs.items():
        found = parse_binding(binding)
        if name not in step.outputs:
            raise UserError(f"{path.name} (job {step.name}) binds output {name}, which it lacks")
        if found and found["parent_output"] not in (spec.get("outputs") or {}):
            raise UserError(f"{path.name} (job {step.name}) binds {name} to an undeclared output")


def parse_binding(binding: Any) -> re.Match[str] | None:
    """The parts of a `${{parent...}}` binding; None for a literal."""
    return BINDING.match(binding.strip()) if isinstance(binding, str) else None
