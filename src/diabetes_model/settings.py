"""Project settings: defaults < invoke.yaml (`project:`) < environment < flags, read once, passed down.

`merge` is the one way settings are layered here; `azure/settings.py` uses it for `azure:` and
`deploy:` too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from diabetes_model.errors import UserError

DIABETES_FEATURES = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")

T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    """Where the data and the tracking store live, and what the model is called."""

    # Where `invoke data` takes the table from when no --source is given: a path, or an http(s)
    # URL pinned by data_sha256; empty: scikit-learn's bundled diabetes data.
    data_source: str = ""
    data_sha256: str = ""
    # The training table: CSV, or Parquet (.parquet).
    data_path: str = "data/diabetes.csv"
    target: str = "target"
    # auto, regression or classification; auto decides from the target (README: Bring your own data).
    task: str = "auto"
    # The columns to train on, in order; empty: every column but the target and `ignore`.
    features: tuple[str, ...] = ()
    # Columns never to train on (ids, free text, leaks of the target), when features is empty.
    ignore: tuple[str, ...] = ()
    experiment_name: str = "diabetes-model"
    model_name: str = "diabetes-regressor"
    # Empty means the project's own SQLite store under mlruns/; MLFLOW_TRACKING_URI overrides it.
    tracking_uri: str = ""
    test_size: float = 0.2
    random_state: int = 42

    @classmethod
    def from_sources(
        cls,
        config: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        flags: Mapping[str, Any] | None = None,
    ) -> Settings:
        """Merge the sources in order of precedence; unknown keys and wrong types are errors."""
        tracking_uri = (environ or {}).get("MLFLOW_TRACKING_URI")
        return merge(
            cls,
            [
                ("invoke.yaml (project:)", config or {}),
                ("MLFLOW_TRACKING_URI", {"tracking_uri": tracking_uri or None}),
                ("flags", flags or {}),
            ],
        )

    def resolve(self, root: Path) -> Settings:
        """Make the data path absolute against the project root."""
        path = Path(self.data_path)
        return dataclasses.replace(self, data_path=str(path if path.is_absolute() else root / path))

    def tracking_uri_for(self, root: Path) -> str:
        """The tracking store to use: the configured one, else SQLite inside the project."""
        return self.tracking_uri or f"sqlite:///{(root / 'mlruns' / 'mlflow.db').as_posix()}"


def merge(cls: type[T], layers: Iterable[tuple[str, Mapping[str, Any]]]) -> T:
    """An instance of the settings dataclass `cls` from (source name, values) layers, later
    layers winning. Values are converted to the types of the defaults; None means "not set";
    an unknown key or a bad value is a UserError naming its source."""
    values: dict[str, Any] = {}
    for source, layer in layers:
        values.update(checked_fields(cls, layer, source))
    return cls(**values)


def checked_fields(cls: type, values: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Values for the fields of the settings dataclass `cls`, converted to the types of its
    defaults; None means "not set" and is dropped; an unknown key or a bad value is a UserError."""
    if not isinstance(values, Mapping):
        raise UserError(f"{source} must be a mapping of settings, not {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    checked: dict[str, Any] = {}
    for key, value in values.items():
        name = str(key).replace("-", "_")
        if name not in fields:
            raise UserError(
                f"unknown setting '{key}' in {source}; known settings: {', '.join(sorted(fields))}"
            )
        if value is not None:
            checked[name] = _coerce(name, value, fields[name].default, source)
    return checked


def _coerce(name: str, value: Any, default: Any, source: str) -> Any:
    # The defaults carry the types; invoke's INVOKE_* variables arrive as strings.
    try:
        if isinstance(default, tuple):
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(item).strip() for item in items if str(item).strip())
        if isinstance(default, bool):
            return value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes"}
        if isinstance(default, int | float | str) and isinstance(value, int | float | str):
            return type(default)(value)
    except (TypeError, ValueError):
        pass
    raise UserError(f"setting '{name}' in {source} has an invalid value {value!r}; fix it there")


@dataclass(frozen=True)
class PipelineSettings:
    """invoke.yaml's `pipeline:` section: the gate's tolerance and where local runs write."""

    # How much worse than the champion a candidate may score and still pass, as a fraction of
    # the champion's primary metric (0.01: 1% worse). 0: not worse at all.
    tolerance: float = 0.01
    # Where `invoke pipeline` writes each step's outputs (one folder per step).
    output_dir: str = "outputs/pipeline"

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> PipelineSettings:
        from diabetes_model.core.gate import check_tolerance

        settings = merge(cls, [("invoke.yaml (pipeline:)", config or {})])
        check_tolerance(settings.tolerance)
        return settings
