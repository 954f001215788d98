"""`invoke drift`: compare recently scored inputs with the training data; write a report and a plot.

Reads the serving input log (`outputs/serving/inputs.jsonl` and its rolled-over files) and the
training CSV, runs `core.drift.compare`, and writes `drift.md`, `drift.json` and `drift.png` together.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from diabetes_model.core.drift import DriftResult, compare
from diabetes_model.errors import UserError
from diabetes_model.serving.input_log import RollingJsonl, read_records

DEFAULT_MIN_ROWS = 30
REPORT_FILES = ("drift.md", "drift.json", "drift.png")


@dataclass(frozen=True)
class DriftRun:
    """What was compared, the result, and where the report went."""

    result: DriftResult
    current_rows: int
    report_dir: Path

    @property
    def summary(self) -> str:
        """One line for the terminal."""
        where = self.report_dir / "drift.md"
        if self.result.drifted:
            return (
                f"drift in {', '.join(self.result.drifted)} over {self.current_rows} recent rows; "
                f"see {where}"
            )
        return f"no drift over {self.current_rows} recent rows; see {where}"


def recent_inputs(
    input_log: Path, features: Sequence[str], last: int | None = None
) -> pd.DataFrame:
    """The feature values of the last `last` scored rows (all of them when None), oldest first."""
    log = RollingJsonl(input_log)
    rows = [r["inputs"] for r in read_records(log) if isinstance(r.get("inputs"), dict)]
    if not rows:
        raise UserError(
            f"no scored inputs in {input_log}: run `invoke serve`, send requests "
            "(`invoke predict`), then run `invoke drift` again"
        )
    frame = pd.DataFrame(rows[-last:] if last else rows)
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise UserError(
            f"{input_log} has no values for {', '.join(missing)}: it was written by another model; "
            "move it aside and score requests with the current one"
        )
    return frame[list(features)].apply(pd.to_numeric, errors="coerce")


def run_drift(
    *,
    data_path: Path,
    target: str,
    features: Sequence[str],
    input_log: Path,
    report_dir: Path,
    last: int | None = None,
    min_rows: int = DEFAULT_MIN_ROWS,
    psi_threshold: float,
    ks_alpha: float,
) -> DriftRun:
    """Compare, then write the report; refuses to judge fewer than `min_rows` recent rows."""
    if last is not None and last < 1:
        raise UserError(f"--last {last} must be at least 1")
    from diabetes_model.tables import load_training_table

    reference, schema = load_training_table(data_path, target, tuple(features))
    features = schema.of_kind("numeric")
    current = recent_inputs(input_log, features, last)
    if len(current) < min_rows:
        raise UserError(
            f"only {len(current)} scored rows in {input_log}; drift needs at least {min_rows}: "
            "send more requests or lower --min-rows"
        )
    try:
        result = compare(reference, current, features, psi_threshold, ks_alpha)
    except ValueError as error:
        raise UserError(f"cannot compare: {error}") from None
    write_report(result, reference, current, report_dir, sources=(data_path, input_log))
    return DriftRun(result, len(current), report_dir)


def write_report(
    result: DriftResult,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    report_dir: Path,
    sources: tuple[Path, Path],
) -> None:
    """drift.md, drift.json and drift.png, written beside each other and swapped in together."""
    report_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=report_dir, prefix=".drift-") as staging:
        staged = Path(staging)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        data = {"created": created, "reference": str(sources[0]), "current": str(sources[1])}
        data |= {"current_rows": len(current), **result.to_dict()}
        (staged / "drift.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        (staged / "drift.md").write_text(_markdown(result, data), encoding="utf-8")
        _plot(result, reference, current).savefig(staged / "drift.png", dpi=100)
        for name in REPORT_FILES:
            os.replace(staged / name, report_dir / name)


def _markdown(result: DriftResult, data: dict) -> str:
    verdict = f"**Drift** in {', '.join(result.drifted)}" if result.drifted else "**No drift**"
    lines = [
        "# Input drift",
        "",
        f"{verdict}: {data['current_rows']} recent scored rows ({data['current']}) against the "
        f"training data ({data['reference']}), {data['created']}.",
        "",
        f"A feature drifts when its PSI > {result.psi_threshold} and its KS p-value < "
        f"{result.ks_alpha} / {len(result.features)} features.",
        "",
        "| feature | PSI | KS statistic | KS p-value | training rows | recent rows | drift |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    lines += [
        f"| {f.feature} | {f.psi:.3f} | {f.ks_statistic:.3f} | {f.ks_pvalue:.2g} | "
        f"{f.reference_rows} | {f.current_rows} | {'yes' if f.drifted else ''} |"
        for f in result.features
    ]
    return "\n".join([*lines, "", "![distributions](drift.png)", ""])


def _plot(result: DriftResult, reference: pd.DataFrame, current: pd.DataFrame):
    # Figure without pyplot: no GUI backend, no global state.
    from matplotlib.figure import Figure

    columns = 5
    rows = -(-len(result.features) // columns)
    figure = Figure(figsize=(3 * columns, 2.6 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, feature in zip(axes, result.features, strict=False):
        both = pd.concat([reference[feature.feature], current[feature.feature]]).dropna()
        bins = 20 if both.nunique() > 20 else max(both.nunique(), 2)
        kwargs = {"bins": bins, "range": (both.min(), both.max()), "density": True, "alpha": 0.5}
        ax.hist(reference[feature.feature].dropna(), label="training", **kwargs)
        ax.hist(current[feature.feature].dropna(), label="recent", **kwargs)
        ax.set_title(
            f"{feature.feature}: PSI {feature.psi:.2f}" + (" (drift)" if feature.drifted else ""),
            color="tab:red" if feature.drifted else "black",
            fontsize=10,
        )
        ax.tick_params(labelsize=7)
    for ax in axes[len(result.features) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=8)
    return figure
