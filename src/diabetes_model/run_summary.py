"""The pipeline's run summary: what each step did and the gate's verdict (promoted, promoted
anyway, or not promoted and why), at the terminal and, in GitHub Actions, on the workflow run's
summary page: appended as Markdown to the file $GITHUB_STEP_SUMMARY names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from diabetes_model.console import Say

if TYPE_CHECKING:
    from diabetes_model.pipeline import PipelineRun
    from diabetes_model.project import Project

STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


def markdown(title: str, steps: Sequence[tuple[str, str]], verdict: str, link: str = "") -> str:
    """The summary as Markdown: a table of (step, what happened) and the verdict."""
    lines = [f"### {title}", "", "| step | |", "| --- | --- |"]
    lines += [f"| {name} | {what} |" for name, what in steps]
    lines += ["", f"**{verdict}**" if verdict else "", ""]
    if link:
        lines += [link, ""]
    return "\n".join(lines)


def append_step_summary(environ: Mapping[str, str], text: str) -> Path | None:
    """In GitHub Actions, add `text` to the job's summary page; elsewhere do nothing."""
    name = environ.get(STEP_SUMMARY)
    if not name:
        return None
    path = Path(name)
    with path.open("a", encoding="utf-8") as handle:  # appended: other steps write there too
        handle.write(text)
    return path


def report_local_run(
    project: Project, run: PipelineRun, environ: Mapping[str, str], say: Say = print
) -> None:
    """After `invoke pipeline`: one line per step, the verdict, where the report is."""
    steps = [
        (outcome.name, "reused" if outcome.reused else f"ran in {outcome.seconds:.1f} s")
        for outcome in run.steps
    ]
    report = run.output_dir / "evaluate" / "report" / "report.md"
    say("")
    say(f"pipeline {run.run_id}: " + ", ".join(f"{name} {what}" for name, what in steps))
    say(run.summary)
    say(f"evaluation report: {project.shown(report)}")
    title = f"Pipeline {run.run_id} ({project.settings.model_name})"
    append_step_summary(environ, markdown(title, steps, run.summary))
