"""The champion mark in the workspace registry (azure/champion.py), through the real azure-ai-ml
client and the offline fake: the tag champion=true moves to one version, the one it replaced is
recorded, and a move cut short says how to finish it."""

from __future__ import annotations

import pytest
from projects import make_project
from registry_support import MODEL, PASSED, champions, register_model, tags_of

from diabetes_model.azure import champion
from diabetes_model.azure.workspace import connect
from diabetes_model.errors import UserError


@pytest.fixture
def client(cloud, tmp_path):
    for version in ("1", "2", "3"):
        register_model(cloud, version)
    return connect(make_project(tmp_path).azure.workspace())


def test_crowning_marks_one_version_and_records_the_retired_one(cloud, client):
    champion.crown(client, MODEL, "1", {"deploy.slot": "blue"}, None)
    champion.crown(client, MODEL, "3", {"deploy.slot": "green"}, "1", {"rollback.to": "x"})

    assert champions(cloud) == ["3"]
    assert champion.champion_version(client, MODEL) == "3"
    assert tags_of(cloud, "3")["deploy.slot"] == "green"
    assert tags_of(cloud, "1") == {**PASSED, "deploy.slot": "blue", "rollback.to": "x"}


def test_a_stale_mark_on_another_version_is_removed_too(cloud, client):
    """Readers take the highest tagged version: a leftover mark on version 3 would outrank a
    champion restored to version 1."""
    for version in ("2", "3"):
        tags_of(cloud, version)["champion"] = "true"
    champion.crown(client, MODEL, "1", {}, "2")
    assert champions(cloud) == ["1"]
    assert champion.champion_version(client, MODEL) == "1"


def test_a_mark_that_cannot_be_removed_is_one_line_with_the_fix(cloud, client):
    champion.crown(client, MODEL, "3", {}, None)
    cloud.fail("PUT", rf"/models/{MODEL}/versions/3$", 400)
    with pytest.raises(
        UserError,
        match=r"^version 2 is the champion, but version 3 keeps its champion tag .*"
        r"az ml model update --name diabetes-regressor --version 3 --remove tags.champion$",
    ):
        champion.crown(client, MODEL, "2", {}, "3")


@pytest.mark.parametrize(
    ("tags", "verdict"),
    [
        ({"evaluation.result": "passed"}, "passed"),
        ({"evaluation.result": "failed", "promoted_anyway": "true"}, "promoted anyway"),
        ({"evaluation.result": "failed"}, None),
        ({}, None),  # registered by `invoke train --remote` or `invoke register`
    ],
)
def test_only_a_version_the_gate_passed_or_an_override_promoted_may_ship(tags, verdict):
    assert champion.gate_verdict(tags) == verdict
