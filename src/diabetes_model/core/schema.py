"""What a training table holds: the task (regression or classification), each feature's kind
(numeric, boolean or categorical), and the columns left out and why. Pure: a frame in, a Schema
out, or a UserError that names the column and the fix.

The rules, as the README states them:
- task `auto` is classification when the target holds text, booleans or categories, or whole
  numbers with at most MAX_AUTO_CLASSES distinct values; otherwise regression;
- with `project.features` empty, every column but the target and `project.ignore` is a feature,
  except an id (text or whole numbers unique per row, or named like an id) and free text (more than
  MAX_CATEGORIES distinct texts, most of them different), which are left out with a warning;
- dates, columns with no values, numbers mixed with text and infinite numbers are refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from diabetes_model.errors import UserError

TASKS = ("auto", "regression", "classification")
KINDS = ("numeric", "boolean", "categorical")
MAX_AUTO_CLASSES = 10  # whole-number targets with at most this many values are classes
MAX_CLASSES = 100  # more than this is no classification problem this template trains
MAX_CATEGORIES = 255  # distinct values the boosting model takes per column (its max_bins)
ID_NAME = re.compile(r"(^|[_\W])(id|uuid|guid|key)$|^(row|index)$", re.IGNORECASE)
DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?.*)?$")
BOOLEAN_TEXT = {"true", "false"}


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # one of KINDS


@dataclass(frozen=True)
class Schema:
    """The columns a model is trained on, in order, and what was decided about the rest."""

    target: str
    task: str  # "regression" or "classification"
    features: tuple[Feature, ...]
    # Columns left out, each with the reason, for the one-line warnings.
    dropped: tuple[tuple[str, str], ...] = ()
    # Why the task is what it is (auto's rule, or the setting).
    task_reason: str = ""
    # The classes of a classification target, sorted.
    classes: tuple[Any, ...] = ()

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def of_kind(self, *kinds: str) -> list[str]:
        return [f.name for f in self.features if f.kind in kinds]

    def describe(self) -> list[str]:
        """One line for the task, one for the features, one per column left out."""
        kinds = ", ".join(f"{f.name} ({f.kind})" for f in self.features)
        lines = [f"task: {self.task} ({self.task_reason})", f"features: {kinds}"]
        lines += [f"warning: column '{name}' left out: {why}" for name, why in self.dropped]
        return lines


def infer_schema(
    frame: pd.DataFrame,
    target: str,
    features: Sequence[str] = (),
    ignore: Sequence[str] = (),
    task: str = "auto",
    source: str = "the data",
) -> Schema:
    """The schema of a table that `core.data.validate_frame` accepted."""
    task, reason = _task(frame[target], task, source)
    chosen, dropped = _candidate_columns(frame, target, features, ignore, source)
    kept = []
    for name in chosen:
        kind = column_kind(frame[name], name, source, explicit=bool(features))
        if kind in KINDS:
            kept.append(Feature(name, kind))
        else:
            dropped.append((name, kind))
    if not kept:
        left_out = "; ".join(f"{name}: {why}" for name, why in dropped) or "none"
        raise UserError(
            f"{source} has no usable feature column besides '{target}' (left out: {left_out}); "
            "add one, or list the columns to train on in project.features"
        )
    classes = _classes(frame[target], target, source) if task == "classification" else ()
    return Schema(target, task, tuple(kept), tuple(dropped), reason, classes)


def _candidate_columns(
    frame: pd.DataFrame,
    target: str,
    features: Sequence[str],
    ignore: Sequence[str],
    source: str,
) -> tuple[list[str], list[tuple[str, str]]]:
    """The configured features (all of them present), or every column but target and ignored."""
    columns = [str(c) for c in frame.columns]
    unknown = [name for name in ignore if name not in columns]
    if unknown:
        raise UserError(
            f"project.ignore names {', '.join(unknown)}, which {source} does not have; "
            f"its columns: {', '.join(columns)}"
        )
    if features:
        missing = [name for name in features if name not in columns]
        if missing:
            raise UserError(
                f"{source} lacks the feature column(s) {', '.join(missing)}; fix the file, or "
                "project.features in invoke.yaml (empty: every column but the target)"
            )
        if target in features:
            raise UserError(f"project.features lists the target '{target}'; take it out")
        extra = [c for c in columns if c not in features and c != target and c not in ignore]
        return list(features), [(name, "not in project.features") for name in extra]
    return [c for c in columns if c != target and c not in ignore], []


def column_kind(column: pd.Series, name: str, source: str, explicit: bool = False) -> str:
    """numeric, boolean or categorical; or, when it is to be left out, why; or a UserError."""
    values = column.dropna()
    if values.empty:
        raise UserError(
            f"column '{name}' in {source} has no values; fill it, or list it in project.ignore"
        )
    if pd.api.types.is_datetime64_any_dtype(column) or _looks_like_dates(values):
        raise UserError(
            f"column '{name}' in {source} holds dates (e.g. {_example(values)}); derive numbers "
            "from it (day of week, days since ...) before training, or list it in project.ignore"
        )
    if pd.api.types.is_bool_dtype(column) or _is_boolean(values):
        return "boolean"
    if pd.api.types.is_numeric_dtype(column):
        _refuse_infinite(column, name, source)
        if not explicit and _looks_like_an_id(column, name):
            return "an id (a whole number unique per row, or named like one)"
        return "numeric"
    # Text: judged by its distinct values (a few hundred in a million rows), each weighed by how
    # many rows hold it, in the order they first occur.
    counts = values.value_counts(sort=False)
    seen = pd.Series(counts.index, dtype=object)
    numbers = _as_numbers(seen)
    if numbers.notna().all():  # numbers written as text, such as 1e400 or inf
        _refuse_infinite(_as_numbers(values).reindex(column.index), name, source, raw=column)
        return "numeric"
    if counts.to_numpy()[numbers.notna().to_numpy()].sum() >= 0.5 * len(values):
        raise UserError(
            f"column '{name}' in {source} mixes numbers and text (e.g. {_example(seen[numbers.notna()])} "
            f"and {_example(seen[numbers.isna()])}); make it all numbers, or all text for categories"
        )
    if not explicit:
        distinct = seen.astype(str).nunique()
        if distinct == len(column) and len(column) >= 20:
            return "unique per row, an id or free text"
        if distinct > MAX_CATEGORIES and distinct > 0.5 * len(values):
            return f"free text ({distinct} different values)"
    return "categorical"


def _task(target: pd.Series, task: str, source: str) -> tuple[str, str]:
    name = target.name
    if task not in TASKS:
        raise UserError(f"project.task is '{task}'; use one of {', '.join(TASKS)}")
    textual = not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target)
    if task == "regression":
        if textual:
            raise UserError(
                f"target '{name}' in {source} holds {_describe_values(target)}: regression needs "
                "numbers; set project.task to classification (or auto)"
            )
        return task, "project.task"
    if task == "classification":
        return task, "project.task"
    if textual:
        return "classification", f"auto: target '{name}' holds {_describe_values(target)}"
    whole = pd.api.types.is_integer_dtype(target) or bool((target == target.round()).all())
    distinct = int(target.nunique())
    if whole and distinct <= MAX_AUTO_CLASSES:
        return "classification", f"auto: target '{name}' holds {distinct} whole-number values"
    return "regression", f"auto: target '{name}' holds numbers, {distinct} distinct values"


def _classes(target: pd.Series, name: str, source: str) -> tuple[Any, ...]:
    counts = target.value_counts()
    if len(counts) < 2:
        only = counts.index[0] if len(counts) else None
        raise UserError(
            f"target '{name}' in {source} has one class ({only!r}); a classifier needs at least "
            "two: add rows of another class, or pick another target"
        )
    if len(counts) > MAX_CLASSES:
        raise UserError(
            f"target '{name}' in {source} has {len(counts)} different values, more than the "
            f"{MAX_CLASSES} classes a classifier here takes: is it free text or an id? pick "
            "another target, or set project.task: regression if it is a number"
        )
    smallest = counts.idxmin()
    if counts.min() < 2:
        raise UserError(
            f"class {smallest!r} of target '{name}' in {source} has 1 row; the test split needs "
            "at least 2 rows of every class: add rows of it, or drop them"
        )
    return tuple(sorted(counts.index, key=str))


def _refuse_infinite(
    numbers: pd.Series, name: str, source: str, raw: pd.Series | None = None
) -> None:
    infinite = np.isinf(numbers.to_numpy(dtype=float, na_value=np.nan))
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0])
        shown = (raw if raw is not None else numbers).iloc[row]
        shown = repr(shown) if isinstance(shown, str) else str(float(shown))
        raise UserError(
            f"column '{name}' in {source} has an infinite value ({shown} in data row {row + 1}); "
            "fix or drop that row"
        )


def _as_numbers(values: pd.Series) -> pd.Series:
    """Each value as a number, NaN where it is none; pandas' parser gives up on 1e400, which
    Python reads as infinity, so what it refuses is tried once more with float()."""
    numbers = pd.to_numeric(values.astype(str), errors="coerce")
    failed = numbers.isna()
    if failed.any() and not failed.all():

        def number(text: str) -> float:
            try:
                return float(text)
            except ValueError:
                return np.nan

        numbers[failed] = values[failed].astype(str).map(number)
    return numbers


def _looks_like_dates(values: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    sample = values.astype(str).head(200)
    return bool(sample.str.match(DATE_TEXT).mean() >= 0.9)


def _is_boolean(values: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(values):
        return False
    return {str(v).lower() for v in pd.unique(values)} <= BOOLEAN_TEXT


def _looks_like_an_id(column: pd.Series, name: str) -> bool:
    if not pd.api.types.is_integer_dtype(column):
        return False
    if ID_NAME.search(name):
        return True
    # Row numbers: 0..n-1 or 1..n in some order. Other runs of whole numbers (years, say) stay.
    values = np.sort(column.to_numpy())
    return len(values) >= 20 and values[0] in (0, 1) and bool((np.diff(values) == 1).all())


def _example(values: pd.Series) -> str:
    return repr(values.iloc[0]) if len(values) else "''"


def _describe_values(target: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(target) or _is_boolean(target.dropna()):
        return "true/false values"
    return f"text (e.g. {_example(target.dropna())})"
