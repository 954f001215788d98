"""What the scoring script does: load the MLflow model, check each request, predict, record inputs.

`score.py` holds one `Scorer` between Azure ML's `init()` and `run()` calls. Its configuration comes
from the environment the inference server runs in, read once, in `ScorerConfig.from_environ`. The
answer's shape, for a regressor and for a classifier, is in `answer.py`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import mlflow.pyfunc
import pandas as pd
import yaml
from azureml_inference_server_http.api.aml_response import AMLResponse

from diabetes_model.serving.answer import classification_answer, regression_answer
from diabetes_model.serving.contract import (
    DEFAULT_MAX_ROWS,
    Column,
    RequestError,
    check_content_type,
    check_method,
    columns_from_signature,
    parse_request,
)
from diabetes_model.serving.input_log import DEFAULT_MAX_BYTES, RollingJsonl

logger = logging.getLogger(__name__)

ENV_MODEL_DIR = "AZUREML_MODEL_DIR"  # set by Azure ML (and by `invoke serve`)
ENV_MAX_ROWS = "DIABETES_MODEL_MAX_ROWS"
ENV_INPUT_LOG = "DIABETES_MODEL_INPUT_LOG"  # local rolling JSON-lines file; unset in Azure
ENV_INPUT_LOG_MAX_BYTES = "DIABETES_MODEL_INPUT_LOG_MAX_BYTES"
ALLOWED_METHODS = "OPTIONS, POST"  # the Allow header of a 405 (RFC 9110 asks for one)
# Collection names the deployment's `data_collector` enables (azureml/deployment-*.yml).
AZURE_INPUTS_COLLECTION = "model_inputs"
AZURE_OUTPUTS_COLLECTION = "model_outputs"


@dataclass(frozen=True)
class ScorerConfig:
    """Where the model is, how big a batch may be, and where inputs are recorded."""

    model_dir: Path
    max_rows: int = DEFAULT_MAX_ROWS
    input_log: Path | None = None
    input_log_max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ScorerConfig:
        """Read the scoring settings from the server's environment."""
        model_dir = environ.get(ENV_MODEL_DIR)
        if not model_dir:
            raise RuntimeError(
                f"{ENV_MODEL_DIR} is not set: start the server with `invoke serve`, or deploy with "
                "a model so that Azure ML sets it"
            )
        input_log = environ.get(ENV_INPUT_LOG)
        return cls(
            model_dir=Path(model_dir),
            max_rows=_positive_int(environ, ENV_MAX_ROWS, DEFAULT_MAX_ROWS),
            input_log=Path(input_log) if input_log else None,
            input_log_max_bytes=_positive_int(environ, ENV_INPUT_LOG_MAX_BYTES, DEFAULT_MAX_BYTES),
        )


class InputSink(Protocol):
    """Somewhere scored inputs go for monitoring; a failing sink must not fail the request."""

    def record(self, frame: pd.DataFrame, predictions: Sequence[Any], request_id: str) -> None:
        """Keep the rows that were scored and what the model answered (numbers, or labels)."""


class Scorer:
    """Checks requests against the model signature and scores them with the scikit-learn model:
    a classifier (it has `predict_proba` and `classes_`) answers labels and probabilities."""

    def __init__(
        self,
        model: Any,
        columns: Sequence[Column],
        max_rows: int = DEFAULT_MAX_ROWS,
        sinks: Sequence[InputSink] = (),
    ) -> None:
        self.model = model
        self.columns = tuple(columns)
        self.max_rows = max_rows
        self.sinks = tuple(sinks)
        self.classifier = hasattr(model, "predict_proba") and hasattr(model, "classes_")

    @classmethod
    def load(cls, config: ScorerConfig) -> Scorer:
        """Load the one MLflow model found under the model directory, with the configured sinks."""
        model_path = find_mlflow_model(config.model_dir)
        loaded = mlflow.pyfunc.load_model(str(model_path))
        schema = loaded.metadata.get_input_schema()
        if schema is None or not schema.has_input_names():
            raise RuntimeError(
                f"the model at {model_path} has no named input signature: log it with one"
            )
        if "sklearn" not in loaded.metadata.flavors:
            raise RuntimeError(
                f"the model at {model_path} is not a scikit-learn model: score.py serves models "
                "logged with mlflow.sklearn, as `invoke train` logs them"
            )
        label = _model_label(model_path)
        sinks: list[InputSink] = [AzureDataCollector()]
        if config.input_log is not None:
            sinks.append(
                LocalInputLog(RollingJsonl(config.input_log, config.input_log_max_bytes), label)
            )
        # The pipeline itself, not MLflow's pyfunc wrapper: the contract has checked and typed
        # every column already, and MLflow's own check refuses a boolean column whose values are
        # all missing (it takes their NaN for a float column), which the pipeline scores.
        model = loaded.get_raw_model()
        return cls(model, columns_from_signature(schema.to_dict()), config.max_rows, sinks)

    def score(
        self,
        body: str | bytes,
        content_type: str = "application/json",
        request_id: str = "",
        method: str = "POST",
    ) -> dict[str, Any] | AMLResponse:
        """Predictions for a valid request; a 4xx response saying what to fix for any other."""
        if method == "OPTIONS":  # a CORS preflight, answered as azmlinfsrv itself answers it
            return AMLResponse("", 200, {"Allow": ALLOWED_METHODS})
        try:
            check_method(method)
            check_content_type(content_type)
            frame = parse_request(body, self.columns, self.max_rows)
        except RequestError as error:
            headers = {"Allow": ALLOWED_METHODS} if error.status == 405 else {}
            return AMLResponse({"message": error.message}, error.status, headers, json_str=True)
        answer = self.predict(frame)
        for sink in self.sinks:
            try:
                sink.record(frame, answer["predictions"], request_id)
            except Exception:  # monitoring must never take scoring down with it
                logger.exception("could not record the inputs with %s", type(sink).__name__)
        return answer

    def predict(self, frame: pd.DataFrame) -> dict[str, Any]:
        """The answer for rows the contract accepted: numbers, or labels and probabilities."""
        if not self.classifier:
            return regression_answer(self.model.predict(frame))
        probabilities = self.model.predict_proba(frame)
        # The likeliest class, which is what the gradient-boosting classifier's predict() picks:
        # one pass through the trees instead of two (they are most of a request's time).
        labels = self.model.classes_[probabilities.argmax(axis=1)]
        return classification_answer(labels, self.model.classes_, probabilities)


def find_mlflow_model(model_dir: Path) -> Path:
    """The directory holding the MLmodel file: `model_dir` itself or the one folder below it.

    Azure ML mounts a registered MLflow model as `$AZUREML_MODEL_DIR/<artifact folder>/MLmodel`.
    """
    found = sorted(path.parent for path in Path(model_dir).rglob("MLmodel"))
    if len(found) != 1:
        what = "no MLmodel file" if not found else f"{len(found)} MLmodel files"
        raise RuntimeError(f"{what} under {model_dir}: point {ENV_MODEL_DIR} at one MLflow model")
    return found[0]


class LocalInputLog:
    """Scored rows as JSON lines in a rolling file (what `invoke drift` reads)."""

    def __init__(self, log: RollingJsonl, model: str) -> None:
        self.log = log
        self.model = model

    def record(self, frame: pd.DataFrame, predictions: Sequence[Any], request_id: str) -> None:
        """Append one line per scored row: the inputs as they came (null where one is missing)."""
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        # to_dict gives Python values, with NaN or pd.NA where one is missing: those become null.
        # (One pass over the rows; astype(object).where(notna) took a fifth of a request's time.)
        rows = [
            {name: None if _missing(value) else value for name, value in row.items()}
            for row in frame.to_dict(orient="records")
        ]
        self.log.append(
            {
                "time": now,
                "request_id": request_id,
                "model": self.model,
                "inputs": row,
                "prediction": p,
            }
            for row, p in zip(rows, predictions, strict=True)
        )


class AzureDataCollector:
    """Azure ML's data collector: in a deployment with `data_collector` on, rows go to blob storage.

    Outside such a deployment the collector is disabled and drops the data; that is logged at debug.
    """

    def __init__(self) -> None:
        from azureml.ai.monitoring import Collector  # configures the "mdc" loggers when first built

        self.inputs = Collector(name=AZURE_INPUTS_COLLECTION, on_error=self._dropped)
        self.outputs = Collector(name=AZURE_OUTPUTS_COLLECTION, on_error=self._dropped)

    def record(self, frame: pd.DataFrame, predictions: Sequence[Any], request_id: str) -> None:
        """Collect inputs and outputs under one correlation id, as model monitoring joins them."""
        context = self.inputs.collect(frame)
        self.outputs.collect(pd.DataFrame({"prediction": list(predictions)}), context)

    @staticmethod
    def _dropped(error: Exception) -> None:
        logger.debug("data collector: %s", error)


def _missing(value: Any) -> bool:
    return value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _model_label(model_path: Path) -> str:
    # MLflow writes registered_model_meta when it downloads a registered version.
    meta = model_path / "registered_model_meta"
    if meta.is_file():
        data = yaml.safe_load(meta.read_text()) or {}
        if data.get("model_name"):
            return f"{data['model_name']}/{data.get('model_version', '')}"
    return model_path.name


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise RuntimeError(f"{name}={raw!r} is not a positive whole number; fix the environment")
    return value
