"""The evaluate step's report: report.md (the metrics of candidate and champion side by side, the
decision and why) and evaluation.png (the primary metric of both against the trivial model, and
the two models' predictions on the same test rows).

The figure is drawn by a second process, started when the step starts: it imports matplotlib
(half a second) on another core while this one loads and scores the models, as the training's
figure is drawn beside the training (plots.render_in_background).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from diabetes_model.steps.common import write_text

REPORT_FILE = "report.md"
FIGURE_FILE = "evaluation.png"


class Drawing:
    """The figure's process: started first, handed the scores when they are known."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        command = [sys.executable, "-m", "diabetes_model.steps.evaluation_report", str(folder)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, text=True)

    def finish(
        self, result: Mapping[str, Any], y_true: np.ndarray, candidate: Any, champion: Any
    ) -> None:
        """Hand over the scores, wait for evaluation.png; a failed drawing is an error."""
        data = self.folder / f".{FIGURE_FILE}.npz"
        arrays = {"y_true": _saved(y_true)}
        for name, scored in (("candidate", candidate), ("champion", champion)):
            if scored is not None:
                arrays[f"{name}_predictions"] = _saved(scored.predictions)
                if scored.proba is not None:
                    arrays[f"{name}_proba"] = scored.proba
                    arrays[f"{name}_classes"] = _saved(np.asarray(scored.classes))
        np.savez(data, **arrays)
        data.with_suffix(".json").write_text(json.dumps(dict(result)), encoding="utf-8")
        try:
            self.process.communicate(f"{data}\n")
            if self.process.returncode != 0:
                raise RuntimeError("drawing the evaluation figure failed; its error is above")
        finally:
            data.unlink(missing_ok=True)
            data.with_suffix(".json").unlink(missing_ok=True)

    def cancel(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _saved(values: Any) -> np.ndarray:
    """Labels as text (saved without pickling, drawn as written); numbers as they are."""
    array = np.asarray(values)
    return array if array.dtype.kind in "fiub" else np.vectorize(str, otypes=[str])(array)


def write_report(folder: Path, result: Mapping[str, Any]) -> None:
    write_text(folder / REPORT_FILE, markdown(result))


def _draw(data: Path, folder: Path) -> None:
    """In the second process: the figure from the handed-over scores, written whole."""
    arrays = np.load(data)
    result = json.loads(data.with_suffix(".json").read_text(encoding="utf-8"))

    def scored(name: str) -> Any:
        if f"{name}_predictions" not in arrays:
            return None
        proba = arrays.get(f"{name}_proba")
        classes = tuple(arrays[f"{name}_classes"]) if proba is not None else ()
        return SimpleNamespace(
            predictions=arrays[f"{name}_predictions"], proba=proba, classes=classes
        )

    figure = evaluation_figure(result, arrays["y_true"], scored("candidate"), scored("champion"))
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


def _main(folder: str) -> int:
    from matplotlib.figure import Figure  # noqa: F401  (imported while the models load)

    line = sys.stdin.readline().strip()
    if not line:  # cancelled: the step failed before it had scores
        return 0
    _draw(Path(line), Path(folder))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1]))
