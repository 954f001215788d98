"""`invoke deploy --rollback` through the real azure-ai-ml client and the offline Azure fake:
traffic goes back to the slot that still runs the previous champion, the champion mark follows,
and both versions record it; with nothing to roll back to, one line and nothing changed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure_fake import FakeAzure, fake_azure
from azure_fake.http import Response
from deploy_support import endpoint_of, run
from registry_support import MODEL, champions, register_model, tags_of

from diabetes_model.errors import UserError


@pytest.fixture
def cloud(monkeypatch, tmp_path) -> Iterator[FakeAzure]:
    """Versions 1 to 3 passed the gate; the fake's deployments answer 150 for every row."""
    with fake_azure(monkeypatch, home=str(tmp_path / "home")) as fake:
        for version in ("1", "2", "3"):
            register_model(fake, version)
        yield fake


def deploy_in_turn(tmp_path, *versions: str) -> None:
    for version in versions:
        run(tmp_path, model_version=version)


def traffic(cloud: FakeAzure) -> dict[str, int]:
    """The slots that take traffic (the SDK leaves a 0% share out of what it sends)."""
    return {
        slot: share for slot, share in endpoint_of(cloud)["properties"]["traffic"].items() if share
    }


def test_rollback_restores_the_previous_champions_slot_and_mark_and_records_both(cloud, tmp_path):
    deploy_in_turn(tmp_path, "2", "3")
    assert traffic(cloud) == {"green": 100} and champions(cloud) == ["3"]
    said: list[str] = []

    assert run(tmp_path, said, rollback=True, environ={"GITHUB_ACTOR": "octocat"}) == {
        "green": 0,
        "blue": 100,
    }

    assert traffic(cloud) == {"blue": 100}
    assert champions(cloud) == ["2"]
    restored, retired = tags_of(cloud, "2"), tags_of(cloud, "3")
    assert (restored["rollback.from"], restored["deploy.trigger"]) == ("3", "rollback")
    assert (restored["deploy.by"], restored["deploy.slot"]) == ("octocat", "blue")
    assert (retired["rollback.to"], retired["deploy.traffic"]) == ("2", "0")
    assert retired["rollback.time"] == restored["rollback.time"]
    assert "champion: diabetes-regressor:2 again (version 3 rolled back)" in said


def test_a_rolled_back_version_is_not_deployed_again_by_default(cloud, tmp_path):
    deploy_in_turn(tmp_path, "2", "3")
    run(tmp_path, rollback=True)
    said: list[str] = []
    assert run(tmp_path, said) == {}
    assert said[0].startswith("nothing deployed: no version newer than the champion")


def test_the_summary_says_what_was_rolled_back(cloud, tmp_path):
    deploy_in_turn(tmp_path, "2", "3")
    summary = tmp_path / "summary.md"
    run(tmp_path, rollback=True, environ={"GITHUB_STEP_SUMMARY": str(summary)})
    text = summary.read_text()
    assert text.startswith(f"### Rollback of {MODEL}:3\n")
    assert f"**rolled back: {MODEL}:2 on {endpoint_of(cloud)['name']}/blue serves again**" in text


@pytest.mark.parametrize(
    ("versions", "message"),
    [
        ((), r"no online endpoint diabetes-model-\w+ in the workspace: deploy a model first"),
        (("2",), r"nothing to roll back to: diabetes-regressor:2 is the first champion"),
    ],
    ids=["no endpoint", "first champion"],
)
def test_nothing_to_roll_back_to_is_one_line(cloud, tmp_path, versions, message):
    deploy_in_turn(tmp_path, *versions)
    puts = len(cloud.requests_to("PUT", r"."))
    with pytest.raises(UserError, match=message):
        run(tmp_path, rollback=True)
    assert len(cloud.requests_to("PUT", r".")) == puts


def test_without_a_champion_there_is_nothing_to_roll_back_to(cloud, tmp_path):
    deploy_in_turn(tmp_path, "2")
    cloud.get(f"models/{MODEL}/versions/2")["properties"]["tags"].pop("champion")
    with pytest.raises(UserError, match=r"no version of diabetes-regressor is the champion"):
        run(tmp_path, rollback=True)


def test_a_second_rollback_refuses_when_the_slot_runs_something_else(cloud, tmp_path):
    deploy_in_turn(tmp_path, "1", "2", "3")  # blue 1, green 2, blue 3
    run(tmp_path, rollback=True)  # back to 2 on green
    assert champions(cloud) == ["2"]
    with pytest.raises(
        UserError,
        match=r"nothing to roll back to: diabetes-regressor:1, the champion before version 2, runs "
        r"on no slot of .* \(blue runs version 3, green runs version 2\)",
    ):
        run(tmp_path, rollback=True)
    assert traffic(cloud) == {"green": 100}


def test_a_failed_deployment_that_took_the_previous_slot_leaves_nothing_to_roll_back_to(
    cloud, tmp_path
):
    deploy_in_turn(tmp_path, "1", "2")  # blue 1, green 2 (champion, previous 1)
    cloud.online_scorer = lambda deployment, body: Response(502, {"message": "boom"})
    with pytest.raises(UserError, match="failed its smoke request"):
        run(tmp_path, model_version="3")  # blue now runs 3, without traffic
    with pytest.raises(UserError, match=r"diabetes-regressor:1, .* runs on no slot"):
        run(tmp_path, rollback=True)
    assert champions(cloud) == ["2"] and traffic(cloud) == {"green": 100}
