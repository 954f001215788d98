"""Azure ML scoring script: `init()` loads the MLflow model once per worker, `run()` scores.

Azure ML's inference server (azmlinfsrv) runs this same file locally (`invoke serve`) and in the
managed online endpoint (azureml/deployment-*.yml, code_configuration). It loads this file by path,
so `init()` first makes the `diabetes_model` package beside it importable.

`run()` gets the raw request (`@rawhttp`) and returns a dict for success (the server answers 200
with it as JSON: a regressor's numbers, or a classifier's labels and probabilities, as answer.py
shapes them) or an `AMLResponse` with a 4xx status and `{"message": ...}` for a request it cannot
score, a GET included: bad input is never a 500.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

# Only the decorator: importing it marks run() for raw requests, and it is in the inference server
# package that runs this script, here and in Azure (no import of the project's own code yet).
from azureml_inference_server_http.api.aml_request import rawhttp

_scorer: Any = None


def init() -> None:
    """Called once by the server before any request: load the model and the input sinks."""
    global _scorer
    # In Azure the code folder (src/) is not on sys.path; only its parent is.
    source_root = str(Path(__file__).resolve().parents[2])
    if source_root not in sys.path:
        sys.path.insert(0, source_root)
    from diabetes_model.serving.scorer import Scorer, ScorerConfig

    _scorer = Scorer.load(ScorerConfig.from_environ(os.environ))


@rawhttp
def run(request: Any) -> Any:
    """Called per request with the request itself (`@rawhttp`), so that its method is known: the
    server also routes GET /score to run(), with the query string as the input."""
    return _scorer.score(
        request.get_data(),
        content_type=request.headers.get("Content-Type", ""),
        request_id=request.headers.get("x-request-id", ""),
        method=request.method,
    )
