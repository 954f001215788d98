"""What `invoke github-secrets` sets, and that no value reaches a command line or a message."""

from __future__ import annotations

import pytest
from standins import FAKE_SECRETS

from diabetes_model.errors import UserError
from diabetes_model.workstation import github_secrets


def test_the_ids_become_secrets_and_the_names_variables():
    plan = github_secrets.plan(FAKE_SECRETS)
    assert [(a.kind, a.name) for a in plan] == [
        ("secret", "AZURE_CLIENT_ID"),
        ("secret", "AZURE_TENANT_ID"),
        ("secret", "AZURE_SUBSCRIPTION_ID"),
        ("variable", "AZURE_RESOURCE_GROUP"),
        ("variable", "AZUREML_WORKSPACE_NAME"),
    ]
    assert "AZURE_CLIENT_SECRET" not in [a.name for a in plan]  # OIDC needs no stored secret


def test_values_travel_on_stdin_never_in_argv():
    seen = []

    def runner(argv, value):
        seen.append((argv, value))
        return 0, ""

    github_secrets.apply(github_secrets.plan(FAKE_SECRETS), repo="octo/diabetes", runner=runner)

    for argv, value in seen:
        assert value not in " ".join(argv)
        assert argv[-2:] == ["--repo", "octo/diabetes"]
    assert {value for _, value in seen} == {
        FAKE_SECRETS[name]
        for name in github_secrets.WORKFLOW_SECRETS + github_secrets.WORKFLOW_VARIABLES
    }


def test_a_gh_failure_is_one_line_without_any_value():
    def runner(argv, value):
        return 1, f"HTTP 403: Resource not accessible by integration (value {value})"

    with pytest.raises(UserError) as error:
        github_secrets.apply(github_secrets.plan(FAKE_SECRETS), runner=runner)

    message = str(error.value)
    assert message.startswith("gh could not set the secret AZURE_CLIENT_ID: HTTP 403")
    assert "gh auth login" in message
    for value in FAKE_SECRETS.values():
        assert value not in message


def test_a_dry_run_calls_nothing():
    def runner(argv, value):
        raise AssertionError("a dry run ran gh")

    lines = github_secrets.apply(github_secrets.plan(FAKE_SECRETS), dry_run=True, runner=runner)
    assert len(lines) == 5
    assert all(line.startswith("would run: gh ") for line in lines)
