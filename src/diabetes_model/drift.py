"""`invoke drift`: compare recently scored inputs with the training data; write a report and a plot.

Reads the serving input log (`outputs/serving/inputs.jsonl` and its rolled-over files) and the
training table, runs `core.drift.compare` over every feature the model takes (numbers, categories
and booleans alike), and writes `drift.md`, `drift.json` and `drift.png` together.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from diabetes_model.core.drift import DriftResult, compare
from diabetes_model.core.schema import Schema
from diabetes_model.errors import UserError
from diabetes_model.serving.input_log import RollingJsonl, read_records
from diabetes_model.settings import Settings

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


def logged_inputs(input_log: Path, last: int | None = None) -> pd.DataFrame:
    """The inputs of the last `last` scored rows of the local log (all when None), oldest first.
    Lines that cannot be read (cut off, not UTF-8) are skipped."""
    if last is not None and last < 1:
        raise UserError(f"--last {last} must be at least 1")
    log = RollingJsonl(input_log)
    rows = [r["inputs"] for r in read_records(log) if isinstance(r.get("inputs"), dict)]
    if not rows:
        raise UserError(
            f"no scored inputs in {input_log}: run `invoke serve`, send requests "
            "(`invoke predict`), then run `invoke drift` again"
        )
    return pd.DataFrame(rows[-last:] if last else rows)


def as_features(current: pd.DataFrame, schema: Schema, source: str) -> pd.DataFrame:
    """The recent rows' features, typed as in training: numbers as floats (a value that is no
    finite number, such as 1e999, as missing), categories and booleans as they came."""
    missing = [name for name in schema.names if name not in current.columns]
    if missing:
        raise UserError(
            f"{source} has no values for {', '.join(missing)}: it was written by another model; "
            "move it aside and score requests with the current one"
        )
    columns = {}
    for feature in schema.features:
        column = current[feature.name]
        if feature.kind == "numeric":
            numbers = pd.to_numeric(column, errors="coerce").astype(float)
            columns[feature.name] = numbers.where(np.isfinite(numbers))
        else:
            columns[feature.name] = column.astype(object)
    return pd.DataFrame(columns, index=current.index)


def local_drift(
    settings: Settings, input_log: Path, last: int | None = None, **options: Any
) -> DriftRun:
    """`invoke drift`: the serving input log (its last `last` rows) against the training data;
    `options` are run_drift's."""
    current = logged_inputs(input_log, last)
    return run_drift(settings=settings, current=current, source=str(input_log), **options)


def run_drift(
    *,
    settings: Settings,
    current: pd.DataFrame,
    source: str,
    report_dir: Path,
    min_rows: int = DEFAULT_MIN_ROWS,
    psi_threshold: float,
    alpha: float,
    reference_name: str = "",
) -> DriftRun:
    """Compare the recent rows (`current`, read from `source`) with the training data, then
    write the report; refuses to judge fewer than `min_rows` rows. `reference_name` names the
    training data in the report (default: its path)."""
    from diabetes_model.tables import load_features

    reference, schema = load_features(settings)
    recent = as_features(current, schema, source)
    if len(recent) < min_rows:
        raise UserError(
            f"only {len(recent)} scored rows in {source}; drift needs at least {min_rows}: "
            "send more requests or lower --min-rows"
        )
    try:
        result = compare(
            reference, recent, schema.names, psi_threshold, alpha,
            categorical=schema.of_kind("categorical", "boolean"),
        )  # fmt: skip
    except ValueError as error:
        raise UserError(f"cannot compare: {error}") from None
    sources = (reference_name or settings.data_path, source)
    write_report(result, reference, recent, report_dir, sources=sources)
    return DriftRun(result, len(recent), report_dir)


def step_summary(run: DriftRun, environ: Mapping[str, str], *lines: str) -> None:
    """In GitHub Actions, the report (without its figure, which the summary cannot show) and
    `lines` (links) on the job's summary page."""
    from diabetes_model.run_summary import append_step_summary

    report = (run.report_dir / "drift.md").read_text(encoding="utf-8")
    kept = [line for line in report.splitlines() if not line.startswith("![")]
    text = "\n".join(kept).strip().replace("# Input drift", "### Input drift", 1)
    append_step_summary(environ, "\n\n".join([text, *lines]) + "\n\n")


def write_report(
    result: DriftResult,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    report_dir: Path,
    sources: tuple[str, str],
) -> None:
    """drift.md, drift.json and drift.png, written beside each other and swapped in together."""
    report_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=report_dir, prefix=".drift-") as staging:
        staged = Path(staging)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        data = {"created": created, "reference": str(sources[0]), "current": str(sources[1])}
        data |= {"current_rows": len(current), **result.to_dict()}
        (staged / "drift.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        (staged / "drift.md").write_text(markdown(result, data), encoding="utf-8")
        _plot(result, reference, current).savefig(staged / "drift.png", dpi=100)
        for name in REPORT_FILES:
            os.replace(staged / name, report_dir / name)


def markdown(result: DriftResult, data: dict) -> str:
    """The report as Markdown: the verdict, the rule, a table row per feature."""
    verdict = f"**Drift** in {', '.join(result.drifted)}" if result.drifted else "**No drift**"
    lines = [
        "# Input drift",
        "",
        f"{verdict}: {data['current_rows']} recent scored rows ({data['current']}) against the "
        f"training data ({data['reference']}), {data['created']}.",
        "",
        f"A feature drifts when its PSI > {result.psi_threshold} and its test's p-value < "
        f"{result.alpha} / {len(result.features)} features (KS for numbers, chi-squared for "
        "categories).",
        "",
        "| feature | kind | PSI | test | statistic | p-value | training rows | recent rows "
        "| drift | new categories |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    lines += [
        f"| {f.feature} | {f.kind} | {f.psi:.3f} | {f.test} | {f.statistic:.3f} | "
        f"{f.pvalue:.2g} | {f.reference_rows} | {f.current_rows} | "
        f"{'yes' if f.drifted else ''} | {', '.join(f.new_categories[:5])} |"
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
        draw = _categories if feature.kind == "categorical" else _histograms
        draw(ax, reference[feature.feature], current[feature.feature])
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


def _histograms(ax, reference: pd.Series, current: pd.Series) -> None:
    both = pd.concat([reference, current]).dropna()
    bins = 20 if both.nunique() > 20 else max(both.nunique(), 2)
    kwargs = {"bins": bins, "range": (both.min(), both.max()), "density": True, "alpha": 0.5}
    ax.hist(reference.dropna(), label="training", **kwargs)
    ax.hist(current.dropna(), label="recent", **kwargs)


def _categories(ax, reference: pd.Series, current: pd.Series, most: int = 8) -> None:
    shares = pd.DataFrame(
        {
            "training": reference.dropna().astype(str).value_counts(normalize=True),
            "recent": current.dropna().astype(str).value_counts(normalize=True),
        }
    ).fillna(0.0)
    shares = shares.sort_values("training", ascending=False).head(most)
    positions = np.arange(len(shares))
    ax.barh(positions - 0.2, shares["training"], height=0.4, alpha=0.7, label="training")
    ax.barh(positions + 0.2, shares["recent"], height=0.4, alpha=0.7, label="recent")
    ax.set_yticks(positions, [label[:14] for label in shares.index])
    ax.invert_yaxis()
