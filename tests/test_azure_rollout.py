"""Blue/green decisions: which slot gets the new model and where traffic goes."""

from __future__ import annotations

import pytest

from diabetes_model.azure.rollout import (
    check_endpoint_name,
    endpoint_name,
    idle_slot,
    new_traffic,
)
from diabetes_model.errors import UserError


@pytest.mark.parametrize(
    ("traffic", "deployments", "slot"),
    [
        ({}, set(), "blue"),  # first deployment
        ({"blue": 100}, {"blue"}, "green"),
        ({"blue": 0, "green": 100}, {"blue", "green"}, "blue"),
        ({"blue": 90, "green": 10}, {"blue", "green"}, "green"),  # replace the canary
        ({}, {"blue"}, "green"),  # blue exists without traffic: keep it, use green
    ],
)
def test_the_new_model_goes_to_the_idle_slot(traffic, deployments, slot):
    assert idle_slot(traffic, deployments) == slot


def test_traffic_splits_between_new_and_old():
    assert new_traffic("green", 10, {"blue", "green"}) == {"green": 10, "blue": 90}
    assert new_traffic("green", 100, {"blue", "green"}) == {"green": 100, "blue": 0}


def test_a_lone_deployment_takes_all_traffic():
    assert new_traffic("blue", 10, {"blue"}) == {"blue": 100}


@pytest.mark.parametrize("percent", [-1, 101])
def test_traffic_must_be_a_percentage(percent):
    with pytest.raises(UserError, match="not a percentage"):
        new_traffic("blue", percent, {"blue"})


def test_derived_endpoint_names_are_valid_and_stable():
    name = endpoint_name("a-rather-long-endpoint-base-name-here", "/subscriptions/x/ws")
    assert len(name) <= 32 and check_endpoint_name(name) == name
    assert name == endpoint_name("a-rather-long-endpoint-base-name-here", "/SUBSCRIPTIONS/X/WS")


@pytest.mark.parametrize("name", ["ab", "1abc", "has_underscore", "x" * 33, "ends-"])
def test_invalid_endpoint_names_are_refused(name):
    with pytest.raises(UserError, match="endpoint name"):
        check_endpoint_name(name)
