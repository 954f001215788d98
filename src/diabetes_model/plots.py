"""Diagnostic figures of a fitted model: predicted against actual and residuals for regression; a
confusion matrix and ROC curves for classification. Drawn in a second process while the training
logs to MLflow (see `render_in_background`)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# A scatter of more points shows nothing more and takes longer to draw.
MAX_POINTS = 5_000


def regression_figure(y_true: np.ndarray, y_pred: np.ndarray, title: str):
    """Predicted against actual, and residuals against predicted, side by side."""
    # A bare Figure renders with Agg and never touches pyplot's global state or a display.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4.5), layout="constrained")
    actual_ax, residual_ax = figure.subplots(1, 2)
    low, high = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    actual_ax.scatter(y_true, y_pred, s=12, alpha=0.7)
    actual_ax.plot([low, high], [low, high], color="grey", linestyle="--", linewidth=1)
    actual_ax.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual")
    residuals = y_true - y_pred
    residual_ax.scatter(y_pred, residuals, s=12, alpha=0.7)
    residual_ax.axhline(0, color="grey", linestyle="--", linewidth=1)
    residual_ax.set(xlabel="predicted", ylabel="actual - predicted", title="Residuals")
    figure.suptitle(title)
    return figure


def classification_figure(
    y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray, classes: Sequence[str], title: str
):
    """The confusion matrix (rows: actual, columns: predicted) and a ROC curve per class
    (one-vs-rest; the positive class alone for two classes)."""
    from matplotlib.figure import Figure
    from sklearn.metrics import confusion_matrix, roc_curve

    figure = Figure(figsize=(11, 4.8), layout="constrained")
    matrix_ax, roc_ax = figure.subplots(1, 2)
    matrix = confusion_matrix(y_true, y_pred, labels=list(classes))
    matrix_ax.imshow(matrix, cmap="Blues")
    ticks = range(len(classes))
    matrix_ax.set_xticks(ticks, classes, rotation=45, ha="right")
    matrix_ax.set_yticks(ticks, classes)
    for (row, column), count in np.ndenumerate(matrix):
        color = "white" if count > matrix.max() / 2 else "black"
        matrix_ax.text(column, row, str(count), ha="center", va="center", color=color, fontsize=8)
    matrix_ax.set(xlabel="predicted", ylabel="actual", title="Confusion matrix")
    shown = [(1, classes[1])] if len(classes) == 2 else list(enumerate(classes))
    for index, label in shown:
        positive = y_true == label
        if 0 < positive.sum() < len(y_true):
            fpr, tpr, _ = roc_curve(positive, proba[:, index])
            roc_ax.plot(fpr, tpr, linewidth=1.5, label=str(label))
    roc_ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    roc_ax.legend(fontsize=8, title="positive class" if len(classes) == 2 else "one vs rest")
    figure.suptitle(title)
    return figure


def render_in_background(
    png: Path,
    title: str,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None = None,
    classes: Sequence[object] = (),
) -> subprocess.Popen:
    """Start drawing the task's figure into `png` in a second process (proba and classes given:
    classification). Wait for the returned process before using png.

    Importing matplotlib and drawing take about half a second; in a process of their own they run
    on another core while training logs to MLflow.
    """
    arrays = png.with_suffix(".npz")
    labels = np.asarray([str(c) for c in classes])
    if proba is None:
        rows = np.arange(len(y_true))
        if len(rows) > MAX_POINTS:  # a scatter: a sample shows the same
            rows = np.random.default_rng(0).choice(rows, MAX_POINTS, replace=False)
        np.savez(arrays, y_true=y_true[rows], y_pred=y_pred[rows])
    else:  # labels as text: saved without pickling, drawn as the user wrote them
        as_text = np.vectorize(str, otypes=[str])
        true, pred = as_text(np.asarray(y_true)), as_text(np.asarray(y_pred))
        np.savez(arrays, y_true=true, y_pred=pred, proba=proba, classes=labels)
    return subprocess.Popen(
        [sys.executable, "-m", "diabetes_model.plots", str(arrays), str(png), title]
    )


def _main(arrays: str, png: str, title: str) -> None:
    data = np.load(arrays)
    if "proba" in data:
        figure = classification_figure(
            data["y_true"], data["y_pred"], data["proba"], list(data["classes"]), title
        )
    else:
        figure = regression_figure(data["y_true"], data["y_pred"], title)
    figure.savefig(png)


if __name__ == "__main__":
    _main(*sys.argv[1:4])
