"""The evaluate step's report: report.md (the metrics of candidate and champion side by side, the
decision and why) and evaluation.png (the primary metric of both against the trivial model, and
the two models' predictions on the same test rows)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from diabetes_model.steps.common import write_text

REPORT_FILE = "report.md"
FIGURE_FILE = "evaluation.png"


def write_report(
    folder: Path, result: Mapping[str, Any], y_true: np.ndarray, candidate: Any, champion: Any
) -> None:
    write_text(folder / REPORT_FILE, markdown(result))
    figure = evaluation_figure(result, y_true, candidate, champion)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{FIGURE_FILE}.", suffix=".png")
    os.close(fd)
    try:
        figure.savefig(temporary)
        os.replace(temporary, folder / FIGURE_FILE)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def markdown(result: Mapping[str, Any]) -> str:
    """The report as Markdown: verdict, reason, and every test metric of both models."""
    champion = result.get("champion_version")
    rival = f"champion (version {champion})" if champion else "champion (none)"
    verdict = "passes" if result["promote"] else "does not pass"
    lines = [
        f"# Evaluation of the candidate for {result['model_name']}",
        "",
        f"**The candidate {verdict} the gate.** {result['reason']}.",
        "",
        f"Judged by `{result['metric']}` ({result['goal']}), tolerance {result['tolerance']:.1%}; "
        f"the trivial model scores {result['baseline']:.4g}.",
        "",
        f"| metric | candidate | {rival} |",
        "| --- | ---: | ---: |",
    ]
    metrics = result["metrics"]
    theirs = metrics.get("champion") or {}
    for name, value in sorted(metrics["candidate"].items()):
        other = f"{theirs[name]:.4g}" if name in theirs else "-"
        marker = " (primary)" if name == result["metric"] else ""
        lines.append(f"| {name}{marker} | {value:.4g} | {other} |")
    lines += ["", f"Candidate run: `{result.get('candidate_run') or 'unknown'}`.", ""]
    return "\n".join(lines)


def evaluation_figure(result: Mapping[str, Any], y_true: np.ndarray, candidate: Any, champion: Any):
    """Left: the primary metric of candidate, champion and trivial model. Right: predicted against
    actual (regression) or ROC curves (classification) of both models on the same rows."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4.5), layout="constrained")
    bars_ax, detail_ax = figure.subplots(1, 2)
    bars = [("candidate", result["candidate"], "tab:green" if result["promote"] else "tab:red")]
    if champion is not None:
        bars.append(("champion", result["champion"], "tab:blue"))
    bars.append(("trivial", result["baseline"], "grey"))
    names, values, colors = zip(*bars, strict=True)
    bars_ax.bar(names, values, color=colors)
    bars_ax.set(title=f"{result['metric']} ({result['goal']})")
    models = [("candidate", candidate)] + ([("champion", champion)] if champion else [])
    if result["task"] == "regression":
        for label, scored in models:
            detail_ax.scatter(y_true, scored.predictions, s=10, alpha=0.6, label=label)
        detail_ax.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual")
    else:
        _roc(detail_ax, y_true, models)
    detail_ax.legend(fontsize=8)
    verdict = "promote" if result["promote"] else "keep the champion"
    figure.suptitle(f"{result['model_name']}: {verdict}")
    return figure


def _roc(axes: Any, y_true: np.ndarray, models: list[tuple[str, Any]]) -> None:
    """ROC of the positive class (two classes) or of the first class one-vs-rest."""
    from sklearn.metrics import roc_curve

    for label, scored in models:
        index = 1 if len(scored.classes) == 2 else 0
        positive = y_true == scored.classes[index]
        if 0 < positive.sum() < len(y_true):
            fpr, tpr, _ = roc_curve(positive, scored.proba[:, index])
            axes.plot(fpr, tpr, label=label)
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
