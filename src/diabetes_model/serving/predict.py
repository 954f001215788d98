"""`invoke predict`: send rows to a scoring URL (the local server, or an online endpoint) and
print one prediction per row."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from diabetes_model.errors import UserError, first_line
from diabetes_model.settings import Settings


def predict(url: str, file: Path | None, settings: Settings, rows: int, key: str = "") -> str:
    """`invoke predict`: send a request file, or rows of the training data; the predictions.

    `key` (an online endpoint's key, from the environment) goes in the Authorization header.
    """
    from diabetes_model.tables import load_features

    if rows < 1:
        raise UserError(f"--rows {rows} must be at least 1")
    sample = None
    if file is None:
        try:
            sample, _ = load_features(settings)
        except UserError as error:
            raise UserError(f"{error}; or send a request with --file") from None
    body = request_body(file, sample, rows, settings.target)
    return format_predictions(post(url, body, key=key))


def request_body(path: Path | None, sample: Any, rows: int = 5, target: str = "") -> dict[str, Any]:
    """The body to send: a JSON request file as is, a CSV file's rows (without the `target`
    column, so the training CSV works), or the first `rows` rows of `sample`."""
    import pandas as pd

    from diabetes_model.serving.contract import example_request

    if path is None:
        return example_request(sample.head(rows))
    if not path.is_file():
        raise UserError(f"--file {path} does not exist: give a .json request or a .csv of rows")
    if path.suffix.lower() == ".csv":
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise UserError(f"--file {path} is not a readable CSV ({first_line(error)})") from None
        return example_request(frame.drop(columns=[target]) if target in frame else frame)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise UserError(f"--file {path} is not valid JSON ({error})") from None


def post(url: str, body: Mapping[str, Any], timeout: float = 30.0, key: str = "") -> list[float]:
    """Send one scoring request and return the predictions; any failure is a one-line UserError."""
    import requests

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = requests.post(url, json=body, headers=headers, timeout=timeout)
    except requests.ConnectionError:
        raise UserError(f"nothing answers at {url}: start the server with `invoke serve`") from None
    except requests.Timeout:
        raise UserError(f"{url} did not answer within {timeout:.0f} s") from None
    except requests.RequestException as error:
        raise UserError(f"cannot send to {url!r} ({type(error).__name__}): check --url") from None
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if response.status_code != 200:
        message = payload.get("message") if isinstance(payload, dict) else None
        raise UserError(f"{url} answered {response.status_code}: {message or response.text[:200]}")
    predictions = payload.get("predictions") if isinstance(payload, dict) else payload
    try:
        return [float(value) for value in predictions]
    except (TypeError, ValueError):
        raise UserError(f"{url} answered without predictions: {response.text[:200]}") from None


def format_predictions(predictions: Sequence[float]) -> str:
    """One line per row: its number and the prediction."""
    width = len(str(len(predictions) - 1))
    return "\n".join(f"row {i:>{width}}: {value:.2f}" for i, value in enumerate(predictions))
