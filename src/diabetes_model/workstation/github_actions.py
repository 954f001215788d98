"""`invoke drift --retrain`: start the Train workflow through GitHub's REST API, with the token
the running workflow was given (GITHUB_TOKEN; its job needs `permissions: actions: write`).

    POST {GITHUB_API_URL}/repos/{owner}/{repo}/actions/workflows/train.yml/dispatches {"ref": "main"}

Train runs on main only (its Azure login trusts that branch), so that is the ref it is started on.
urllib, not requests: this call must never go through the Azure SDKs' transport.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping

from diabetes_model.errors import UserError

TRAIN_WORKFLOW = "train.yml"
REF = "main"
API = "https://api.github.com"


def start_training(environ: Mapping[str, str], why: str, timeout: float = 30.0) -> str:
    """Dispatch the Train workflow; returns the line to print (and adds it to the job summary)."""
    from diabetes_model.run_summary import append_step_summary

    token, repository = environ.get("GITHUB_TOKEN", ""), environ.get("GITHUB_REPOSITORY", "")
    if not token or not repository:
        raise UserError(
            "--retrain starts the Train workflow through GitHub's API: it needs GITHUB_TOKEN and "
            "GITHUB_REPOSITORY (set in GitHub Actions; the step needs "
            "`env: GITHUB_TOKEN: ${{ github.token }}`)"
        )
    api = environ.get("GITHUB_API_URL") or API
    url = f"{api}/repos/{repository}/actions/workflows/{TRAIN_WORKFLOW}/dispatches"
    request = urllib.request.Request(
        url,
        data=json.dumps({"ref": REF}).encode(),
        method="POST",
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": "2022-11-28",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout):  # 204 No Content
            pass
    except urllib.error.HTTPError as error:
        raise UserError(refusal(error.code, _message(error), repository)) from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise UserError(f"cannot reach GitHub's API at {api} ({error}); try again") from None
    server = environ.get("GITHUB_SERVER_URL", "https://github.com")
    runs = f"{server}/{repository}/actions/workflows/{TRAIN_WORKFLOW}"
    line = f"started the Train workflow on {REF} ({why}): {runs}"
    append_step_summary(environ, f"**Retraining:** {line}\n\n")
    return line


def refusal(status: int, message: str, repository: str) -> str:
    """One line for each way GitHub says no, with what to change."""
    said = f" ({message})" if message else ""
    if status == 401:
        return (
            f"GitHub refused the token (401{said}): GITHUB_TOKEN must be the workflow's own token"
        )
    if status == 403 and "not accessible by integration" in message.lower():
        return (
            f"the workflow's token may not start workflows (403{said}): give the drift job "
            "`permissions: actions: write`"
        )
    if status == 404:
        return (
            f"GitHub finds no workflow {TRAIN_WORKFLOW} in {repository} (404{said}): check "
            f"GITHUB_REPOSITORY and that .github/workflows/{TRAIN_WORKFLOW} is on {REF}"
        )
    return f"GitHub refused to start {TRAIN_WORKFLOW} in {repository} ({status}{said})"


def _message(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read() or b"{}").get("message", ""))
    except (ValueError, AttributeError, OSError):
        return ""
