"""Pipeline step 3, evaluate: the gate. The candidate (the train step's MLflow model) and the
registry's champion are scored on the same test rows with the task's primary metric, and
`core.gate` decides. The report folder receives decision.json (what the register step acts on),
report.md (the metrics side by side, the decision and why) and evaluation.png.

    python -m diabetes_model.steps.evaluate --model DIR --train FILE --test FILE --report DIR

The step succeeds whatever the decision: a candidate that loses is the pipeline doing its job.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diabetes_model.core.columns import decode_name
from diabetes_model.settings import Settings
from diabetes_model.steps.common import StepParser, read_json, step_main, write_json

DEFAULTS = Settings()
DECISION_FILE = "decision.json"
# What pandas and scikit-learn raise for rows a model cannot take: missing or mistyped columns.
SCORING_ERRORS = (KeyError, ValueError, TypeError)


@dataclass(frozen=True)
class EvaluateConfig:
    model: Path  # the candidate's MLflow model folder
    train: Path  # train.parquet: the trivial model's mean or class shares
    test: Path  # test.parquet, with split.json beside it
    report: Path
    model_name: str = DEFAULTS.model_name
    tolerance: float = 0.01

    @classmethod
    def from_argv(cls, argv: list[str]) -> EvaluateConfig:
        parser = StepParser(prog="python -m diabetes_model.steps.evaluate", description=__doc__)
        add = parser.add_argument
        add("--model", required=True, type=Path, help="the candidate's MLflow model folder")
        add("--train", required=True, type=Path, help="prep's train.parquet")
        add("--test", required=True, type=Path, help="prep's test.parquet (split.json beside it)")
        add("--report", required=True, type=Path, help="folder for decision.json, report.md, png")
        add("--model-name", default=DEFAULTS.model_name, type=decode_name, help="model (encoded)")
        add("--tolerance", type=float, default=0.01, help="how much worse may pass, a fraction")
        args = parser.parse_args(argv)
        return cls(args.model, args.train, args.test, args.report, args.model_name, args.tolerance)


@dataclass(frozen=True)
class Scored:
    """One model's predictions and metrics on the test rows."""

    metrics: dict[str, float]
    predictions: Any
    proba: Any = None
    classes: tuple[Any, ...] = ()


def evaluate(config: EvaluateConfig, tracking_uri: str) -> dict[str, Any]:
    """Score both, decide, write the report; returns decision.json's content."""
    from diabetes_model.core.gate import check_tolerance
    from diabetes_model.steps.evaluation_report import Drawing, write_report

    check_tolerance(config.tolerance)  # before any work
    config.report.mkdir(parents=True, exist_ok=True)
    drawing = Drawing(config.report)
    try:
        result, y_true, candidate, rival = _judge(config, tracking_uri)
        drawing.finish(result, y_true, candidate, rival)
    finally:
        drawing.cancel()
    write_report(config.report, result)
    write_json(config.report / DECISION_FILE, result)
    return result


def _judge(config: EvaluateConfig, tracking_uri: str) -> tuple[dict[str, Any], Any, Scored, Any]:
    """Load and score both models, and decide: decision.json's content, the test targets, and
    the candidate's and the champion's scores (None without a usable champion)."""
    from mlflow import MlflowClient

    from diabetes_model.champion import find_champion, marks_with_tag
    from diabetes_model.core.gate import decide, trivial_score
    from diabetes_model.tables import read_table

    split = read_json(config.test.parent / "split.json", "the prep step")
    task, target = split["task"], split["target"]
    test, _ = read_table(config.test)
    y_train = read_table(config.train)[0][target]
    candidate = score(load_model(config.model), test, target, task)
    client = MlflowClient(tracking_uri)
    champion = find_champion(client, config.model_name, marks_with_tag(tracking_uri))
    rival, error = (
        _score_champion(tracking_uri, champion, test, target, task) if champion else (None, "")
    )
    metric = f"test_{_primary(task)}"
    decision = decide(
        task,
        candidate.metrics[metric],
        trivial_score(task, y_train, test[target], candidate.classes),
        config.tolerance,
        champion=rival.metrics[metric] if rival else None,
        champion_version=champion.version if champion else None,
        champion_error=error,
    )
    result = {
        **decision.as_dict(),
        "model_name": config.model_name,
        "candidate_run": model_run_id(config.model),
        "metrics": {"candidate": candidate.metrics, "champion": rival.metrics if rival else None},
        "test_sha256": split["test"]["sha256"],
    }
    return result, test[target].to_numpy(), candidate, rival


def _primary(task: str) -> str:
    from diabetes_model.core.metrics import PRIMARY

    return PRIMARY[task][0]


def _score_champion(
    tracking_uri: str, champion: Any, test: Any, target: str, task: str
) -> tuple[Scored | None, str]:
    """The champion's scores, or why it cannot score these rows."""
    import mlflow

    from diabetes_model.errors import first_line

    with tempfile.TemporaryDirectory() as folder:
        path = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{champion.name}/{champion.version}",
            dst_path=folder,
            tracking_uri=tracking_uri,
            registry_uri=tracking_uri,
        )
        try:
            return score(load_model(Path(path)), test, target, task), ""
        except SCORING_ERRORS as error:
            return None, first_line(error)


def load_model(folder: Path) -> Any:
    """The scikit-learn pipeline of an MLflow model folder, with its input schema."""
    import mlflow.sklearn

    return mlflow.sklearn.load_model(str(folder)), _input_schema(folder)


def _input_schema(folder: Path) -> list[tuple[str, str]]:
    from mlflow.models import Model

    from diabetes_model.serving.contract import columns_from_signature

    # Read as the scoring script reads it (the JSON form: "string", not str()'s "DataType.string").
    columns = columns_from_signature(Model.load(str(folder)).signature.inputs.to_dict())
    kinds = {"boolean": "boolean", "string": "categorical"}
    return [(c.name, kinds.get(c.dtype, "numeric")) for c in columns]


def model_run_id(folder: Path) -> str:
    """The MLflow run that logged the model (the train step records it in the MLmodel file)."""
    from mlflow.models import Model

    return Model.load(str(folder)).run_id or ""


def score(loaded: tuple[Any, list[tuple[str, str]]], rows: Any, target: str, task: str) -> Scored:
    """Predict the test rows with the columns the model's signature names, typed as it takes them."""
    from diabetes_model.core.data import split_xy
    from diabetes_model.core.metrics import classification_metrics, prefixed, regression_metrics
    from diabetes_model.core.schema import Feature, Schema

    model, columns = loaded
    schema = Schema(target, task, tuple(Feature(name, kind) for name, kind in columns))
    x, y = split_xy(rows, schema)
    if task == "regression":
        predictions = model.predict(x)
        return Scored(regression_metrics(y.to_numpy(), predictions).as_dict("test"), predictions)
    proba = model.predict_proba(x)
    classes = tuple(model.classes_)
    predictions = model.classes_[proba.argmax(axis=1)]
    metrics = prefixed(classification_metrics(y, predictions, proba, classes), "test")
    return Scored(metrics, predictions, proba, classes)


def describe(result: Mapping[str, Any]) -> str:
    verdict = "passes" if result["promote"] else "does not pass"
    return f"the candidate {verdict} the gate: {result['reason']}"


def run(argv: list[str], tracking_uri: str, environ: Mapping[str, str] | None = None) -> int:
    print(describe(evaluate(EvaluateConfig.from_argv(argv), tracking_uri)))
    return 0


def main(argv: list[str] | None = None) -> int:
    return step_main(run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
