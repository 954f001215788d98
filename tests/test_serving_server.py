"""score.py behind Azure ML's own inference server, over real HTTP on the loopback address."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml
from serving_support import (
    FEATURES,
    feature_frame,
    free_port,
    registered_store,
    running_server,
)

from diabetes_model.errors import UserError
from diabetes_model.serving.contract import example_request
from diabetes_model.serving.input_log import RollingJsonl, read_records
from diabetes_model.serving.predict import post
from diabetes_model.serving.serve import server_plan
from diabetes_model.serving.server import SERVER_ENVIRONMENT

MAX_ROWS = 20
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return registered_store(tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def server(store, tmp_path_factory):
    root = tmp_path_factory.mktemp("server")
    port = free_port()
    plan = server_plan(store.model_dir, port=port, input_log=root / "inputs.jsonl")
    env = {**plan.env, "DIABETES_MODEL_MAX_ROWS": str(MAX_ROWS)}
    with running_server(list(plan.argv), env, port, root / "server.log") as running:
        yield running, root / "inputs.jsonl"


def score(server, data: str | bytes, content_type: str = "application/json") -> requests.Response:
    running, _ = server
    return requests.post(
        f"{running.url}/score", data=data, headers={"Content-Type": content_type}, timeout=30
    )


def test_it_scores_rows_as_the_model_would_in_process(server, store):
    import mlflow

    rows = feature_frame(4, seed=7)
    response = score(server, json.dumps(example_request(rows)))
    assert response.status_code == 200, response.text
    expected = mlflow.pyfunc.load_model(str(store.model_dir)).predict(rows)
    assert list(response.json()) == ["predictions"]  # a regressor's answer: numbers, nothing else
    assert response.json()["predictions"] == pytest.approx(list(expected))
    assert response.headers["x-ms-server-version"].startswith("azmlinfsrv/")


def test_it_records_the_scored_inputs_with_the_request_id(server):
    running, input_log = server
    rows = feature_frame(2, seed=8)
    response = requests.post(
        f"{running.url}/score",
        json=example_request(rows),
        headers={"x-request-id": "req-from-test"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    mine = [r for r in read_records(RollingJsonl(input_log)) if r["request_id"] == "req-from-test"]
    assert [r["inputs"]["bmi"] for r in mine] == pytest.approx(rows["bmi"].tolist())
    assert [r["prediction"] for r in mine] == pytest.approx(response.json()["predictions"])
    assert {r["model"] for r in mine} == {"diabetes-regressor/1"}


def _request(columns: list[str], rows: list[list[object]]) -> str:
    return json.dumps({"input_data": {"columns": columns, "data": rows}})


GOOD_ROW = [0.01] * len(FEATURES)
BAD_INPUTS = {
    "malformed JSON": ('{"input_data": [', 400, "not valid JSON"),
    "not UTF-8": (b"\xff\xfe{}", 400, "UTF-8"),
    "empty body": ("", 400, "body is empty"),
    "no input key": ('{"data": []}', 400, "exactly one of"),
    "missing column": (_request(FEATURES[:-1], [GOOD_ROW[:-1]]), 422, "missing columns: s6"),
    "unknown column": (
        _request([*FEATURES, "zip"], [[*GOOD_ROW, 1.0]]),
        422,
        "unknown columns: zip",
    ),
    "wrong type": (_request(FEATURES, [["old", *GOOD_ROW[1:]]]), 422, "column 'age' row 0"),
    "empty batch": (_request(FEATURES, []), 400, "the batch is empty"),
    "JSON nested 5,000 deep": (
        '{"input_data": ' + "[" * 5000 + "]" * 5000 + "}",
        400,
        "nested too deeply",
    ),
    "oversized batch": (
        _request(FEATURES, [GOOD_ROW] * (MAX_ROWS + 1)),
        413,
        f"limit of {MAX_ROWS}",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_is_a_4xx_with_a_clear_message(server, case):
    data, status, says = BAD_INPUTS[case]
    response = score(server, data)
    assert response.status_code == status, response.text
    assert says in response.json()["message"]


def test_a_body_not_declared_as_json_is_415(server):
    response = score(server, _request(FEATURES, [GOOD_ROW]), content_type="text/plain")
    assert response.status_code == 415
    assert "application/json" in response.json()["message"]


def test_get_on_score_is_405_and_says_to_post(server):
    running, _ = server
    response = requests.get(f"{running.url}/score", timeout=30)
    assert response.status_code == 405, response.text
    assert "POST" in response.headers["Allow"]
    assert "POST the rows" in response.json()["message"]
    assert requests.head(f"{running.url}/score", timeout=30).status_code == 405


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_are_405_from_the_server_itself(server, method):
    running, _ = server
    response = requests.request(method, f"{running.url}/score", timeout=30)
    assert response.status_code == 405, response.text


def test_options_still_answers_a_cors_preflight(server):
    running, _ = server
    response = requests.options(f"{running.url}/score", timeout=30)
    assert response.status_code == 200


def test_bad_input_is_not_recorded_for_drift(server):
    _, input_log = server
    before = len(list(read_records(RollingJsonl(input_log))))
    score(server, _request(FEATURES, [["old", *GOOD_ROW[1:]]]))
    assert len(list(read_records(RollingJsonl(input_log)))) == before


def test_clients_that_stall_mid_request_do_not_hold_up_the_others(server):
    """One client stops in the middle of its headers, another half-way through its body; a third
    still gets its predictions (with one synchronous worker it waited for the stalled ones)."""
    running, _ = server
    port = int(running.url.rsplit(":", 1)[1])
    body = _request(FEATURES, [GOOD_ROW]).encode()
    head = (
        f"POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with (
        socket.create_connection(("127.0.0.1", port)) as in_headers,
        socket.create_connection(("127.0.0.1", port)) as in_body,
    ):
        in_headers.sendall(head[:30])
        in_body.sendall(head + body[: len(body) // 2])
        time.sleep(0.5)  # the server has both before the next client comes
        response = requests.post(
            f"{running.url}/score",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert len(response.json()["predictions"]) == 1


# copier: deploy-begin (the deployment specs)
@pytest.mark.parametrize("slot", ["blue", "green"])
def test_the_deployments_give_the_server_the_environment_invoke_serve_gives_it(slot):
    spec = yaml.safe_load((ROOT / "azureml" / f"deployment-{slot}.yml").read_text())
    assert SERVER_ENVIRONMENT.items() <= spec["environment_variables"].items()


# copier: deploy-end


def test_it_listens_on_the_loopback_address_only(server):
    running, _ = server
    port = int(running.url.rsplit(":", 1)[1])
    listening = _listening_addresses(port)
    assert listening == {"0100007F"}, listening  # 127.0.0.1, not 0.0.0.0


def _listening_addresses(port: int) -> set[str]:
    table = Path("/proc/net/tcp")
    if not table.exists():
        pytest.skip("needs Linux /proc/net/tcp")
    found = set()
    for line in table.read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
            found.add(address)
    return found


def test_predict_client_returns_the_predictions(server):
    running, _ = server
    answer = post(f"{running.url}/score", example_request(feature_frame(3)))
    assert len(answer.predictions) == 3 and not answer.classification


def test_predict_client_turns_a_4xx_into_one_line(server):
    running, _ = server
    with pytest.raises(UserError, match=r"answered 422: missing columns: s6"):
        post(f"{running.url}/score", json.loads(_request(FEATURES[:-1], [GOOD_ROW[:-1]])))


def test_predict_client_says_when_no_server_answers():
    with pytest.raises(UserError, match="start the server with `invoke serve`"):
        post(f"http://127.0.0.1:{free_port()}/score", {"input_data": {}}, timeout=5)


def test_a_model_dir_without_a_model_stops_the_server_with_the_reason(tmp_path):
    plan = server_plan(tmp_path, port=free_port())
    result = subprocess.run(
        list(plan.argv),
        env={**__import__("os").environ, **plan.env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "no MLmodel file under" in result.stdout + result.stderr
