"""Azure ML scoring script: `init()` loads the MLflow model once per worker, `run()` scores.

Azure ML's inference server (azmlinfsrv) runs this same file locally (`invoke serve`) and in the
managed online endpoint (azureml/deployment-*.yml, code_configuration). It loads this file by path,
so `init()` first makes the `diabetes_model` package beside it importable.

`run()` returns a dict for success (the server answers 200 with it as JSON) and an `AMLResponse`
with a 4xx status and `{"message": ...}` for a request it cannot score: bad input is never a 500.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

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


def run(raw_data: str, request_headers: dict[str, str]) -> Any:
    """Called per request with the body as text; the server passes the request headers too."""
    headers = {name.lower(): value for name, value in request_headers.items()}
    return _scorer.score(
        raw_data,
        content_type=headers.get("content-type", ""),
        request_id=headers.get("x-request-id", ""),
    )
