"""Run summaries: what each step did, the metrics of the candidate against the champion, the
decision, and links, at the terminal and, in GitHub Actions, on the workflow run's summary page
(appended as Markdown to the file $GITHUB_STEP_SUMMARY names). The pipeline (locally, and with
--remote --stream), `invoke deploy` and `invoke drift --remote` write theirs with these helpers."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diabetes_model.console import Say

if TYPE_CHECKING:
    from diabetes_model.pipeline import PipelineRun
    from diabetes_model.project import Project

STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


# (metric, the candidate's value, the champion's value or None)
MetricRow = tuple[str, float, float | None]


def markdown(
    title: str,
    steps: Sequence[tuple[str, str]],
    verdict: str,
    link: str = "",
    metrics: Sequence[str] = (),
) -> str:
    """The summary as Markdown: a table of (step, what happened), the metrics table (lines of
    `metrics_table`), the verdict, and the links."""
    lines = [f"### {title}", "", "| step | |", "| --- | --- |"]
    lines += [f"| {name} | {_cell(what)} |" for name, what in steps]
    lines += ["", *metrics, *([""] if metrics else [])]
    lines += [f"**{verdict}**" if verdict else "", ""]
    if link:
        lines += [link, ""]
    return "\n".join(lines)


def metrics_table(rows: Sequence[MetricRow], champion: str | None, primary: str = "") -> list[str]:
    """| metric | candidate | champion (version N) |, the primary metric marked."""
    if not rows:
        return []
    rival = f"champion (version {champion})" if champion else "champion (none)"
    lines = [f"| metric | candidate | {rival} |", "| --- | ---: | ---: |"]
    for name, mine, theirs in rows:
        marker = " (primary)" if name == primary else ""
        other = "-" if theirs is None else f"{theirs:.4g}"
        lines.append(f"| {name}{marker} | {mine:.4g} | {other} |")
    return lines


def decision_metrics(decision: Mapping[str, Any]) -> list[str]:
    """The metrics table of the evaluate step's decision.json: every test metric of both."""
    metrics = decision.get("metrics") or {}
    mine, theirs = metrics.get("candidate") or {}, metrics.get("champion") or {}
    rows = [(name, value, theirs.get(name)) for name, value in sorted(mine.items())]
    return metrics_table(rows, decision.get("champion_version"), decision.get("metric", ""))


def tag_metrics(tags: Mapping[str, str]) -> list[str]:
    """The metrics table of a registered version's evaluation tags: the primary metric of the
    candidate and of the champion it was compared with."""
    metric, score = tags.get("evaluation.metric"), tags.get("evaluation.score")
    if not (metric and score):
        return []
    champion = tags.get("evaluation.champion", "none").removeprefix("version ")
    theirs = tags.get("evaluation.champion_score")
    row = (metric, float(score), float(theirs) if theirs else None)
    return metrics_table([row], None if champion == "none" else champion, metric)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


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
    decision = report.with_name("decision.json")
    table = (
        decision_metrics(json.loads(decision.read_text(encoding="utf-8")))
        if decision.is_file()
        else []
    )
    append_step_summary(environ, markdown(title, steps, run.summary, metrics=table))
