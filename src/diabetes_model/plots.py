"""Diagnostic figures for a fitted regressor."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np


def diagnostics_figure(y_true: np.ndarray, y_pred: np.ndarray, title: str):
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


def render_in_background(
    y_true: np.ndarray, y_pred: np.ndarray, title: str, png: Path
) -> subprocess.Popen:
    """Start drawing the diagnostics figure into `png` in a second process.

    Importing matplotlib and drawing take about half a second; in a process of their own they run
    on another core while training logs to MLflow. Wait for the returned process before using png.
    """
    arrays = png.with_suffix(".npz")
    np.savez(arrays, y_true=y_true, y_pred=y_pred)
    return subprocess.Popen(
        [sys.executable, "-m", "diabetes_model.plots", str(arrays), str(png), title]
    )


def _main(arrays: str, png: str, title: str) -> None:
    data = np.load(arrays)
    diagnostics_figure(data["y_true"], data["y_pred"], title).savefig(png)


if __name__ == "__main__":
    _main(*sys.argv[1:4])
