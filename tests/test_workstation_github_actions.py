"""`invoke drift --retrain`'s call to GitHub: the Train workflow is dispatched with the
workflow's own token, and each way GitHub refuses is one line saying what to change."""

from __future__ import annotations

import pytest
from github_fake import github_api

from diabetes_model.errors import UserError
from diabetes_model.workstation.github_actions import start_training


def environ(api: str, **more: str) -> dict[str, str]:
    return {"GITHUB_TOKEN": "ghs_fake", "GITHUB_REPOSITORY": "octo/model",
            "GITHUB_API_URL": api, **more}  # fmt: skip


def test_the_train_workflow_is_dispatched_on_main_with_the_workflows_token(tmp_path):
    summary = tmp_path / "summary.md"
    with github_api() as github:
        line = start_training(environ(github.url, GITHUB_STEP_SUMMARY=str(summary)), "drift in bmi")

    (call,) = github.requests
    assert call.path == "/repos/octo/model/actions/workflows/train.yml/dispatches"
    assert call.body == {"ref": "main"}
    assert call.headers["authorization"] == "Bearer ghs_fake"
    assert call.headers["accept"] == "application/vnd.github+json"
    assert line == (
        "started the Train workflow on main (drift in bmi): "
        "https://github.com/octo/model/actions/workflows/train.yml"
    )
    assert f"**Retraining:** {line}" in summary.read_text()


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (401, "Bad credentials", r"^GitHub refused the token \(401 \(Bad credentials\)\)"),
        (
            403,
            "Resource not accessible by integration",
            r"may not start workflows .*`permissions: actions: write`$",
        ),
        (
            403,
            "Forbidden",
            r"^GitHub refused to start train.yml in octo/model \(403 \(Forbidden\)\)$",
        ),
        (404, "Not Found", r"^GitHub finds no workflow train.yml in octo/model \(404"),
        (422, "Workflow does not have 'workflow_dispatch' trigger", r"\(422 \(Workflow does not"),
    ],
)
def test_each_refusal_is_one_line(tmp_path, status, message, expected):
    summary = tmp_path / "summary.md"
    with github_api() as github:
        github.refuse(status, message)
        with pytest.raises(UserError, match=expected) as raised:
            start_training(environ(github.url, GITHUB_STEP_SUMMARY=str(summary)), "drift")
    assert "\n" not in str(raised.value)
    assert "ghs_fake" not in str(raised.value)
    assert not summary.exists()  # nothing claims a retraining that did not start


@pytest.mark.parametrize("missing", ["GITHUB_TOKEN", "GITHUB_REPOSITORY"])
def test_without_the_token_or_the_repository_nothing_is_sent(missing):
    with github_api() as github:
        given = environ(github.url)
        given.pop(missing)
        with pytest.raises(UserError, match=r"needs GITHUB_TOKEN and GITHUB_REPOSITORY"):
            start_training(given, "drift")
    assert github.requests == []


def test_an_unreachable_api_is_one_line():
    with github_api() as github:
        url = github.url
    with pytest.raises(UserError, match=r"^cannot reach GitHub's API at http://127\.0\.0\.1"):
        start_training(environ(url), "drift", timeout=5)
