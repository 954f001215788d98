"""`invoke predict`: send rows to a scoring URL (the local server, or an online endpoint) and
print one prediction per row: a number, or a label with its classes' probabilities."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from diabetes_model.errors import UserError, first_line
from diabetes_model.serving.answer import Answer, MalformedAnswer, label_text, read_answer
from diabetes_model.settings import Settings

MOST_CLASSES_SHOWN = 5


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
    body = request_body(file, sample, rows, settings)
    return format_predictions(post(url, body, key=key))


def request_body(path: Path | None, sample: Any, rows: int, settings: Settings) -> dict[str, Any]:
    """The body to send: a JSON request file as is, a CSV file's rows (`feature_rows`), or the
    first `rows` rows of `sample`."""
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
        return example_request(feature_rows(frame, settings))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise UserError(f"--file {path} is not valid JSON ({error})") from None


def feature_rows(frame: Any, settings: Settings) -> Any:
    """What of a CSV's rows to send, so that the training table itself works: a table with every
    configured feature goes as those features (its target, ids and other columns stay here);
    any other table as it is, without the target and the ignored columns."""
    if settings.features and all(name in frame.columns for name in settings.features):
        return frame[list(settings.features)]
    return frame.drop(columns=[c for c in (settings.target, *settings.ignore) if c in frame])


def post(url: str, body: Mapping[str, Any], timeout: float = 30.0, key: str = "") -> Answer:
    """Send one scoring request and return the answer; any failure is a one-line UserError."""
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
    try:
        return read_answer(payload)
    except MalformedAnswer as error:
        raise UserError(
            f"{url} answered with no usable predictions ({error}): {response.text[:200]}"
        ) from None


def format_predictions(answer: Answer, most: int = MOST_CLASSES_SHOWN) -> str:
    """One line per row: its number and the prediction; for a classifier, the label and the
    probabilities of the `most` likeliest classes, likeliest first."""
    width = len(str(len(answer.predictions) - 1))
    if not answer.classification:
        return "\n".join(
            f"row {i:>{width}}: {value:.2f}" for i, value in enumerate(answer.predictions)
        )
    return "\n".join(
        f"row {i:>{width}}: {label_text(label)} ({_likeliest(shares, most)})"
        for i, (label, shares) in enumerate(
            zip(answer.predictions, answer.probabilities, strict=True)
        )
    )


def _likeliest(shares: Mapping[str, float], most: int) -> str:
    ranked = sorted(shares.items(), key=lambda item: -item[1])
    shown = ", ".join(f"{label} {share:.2f}" for label, share in ranked[:most])
    return shown + (f", {len(ranked) - most} more" if len(ranked) > most else "")
