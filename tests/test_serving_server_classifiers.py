"""Classifiers behind Azure ML's own inference server, over real HTTP: a binary one (true/false
labels) and a multiclass one on a table of text categories, true/false values and gaps."""

from __future__ import annotations

import contextlib

import pytest
import requests
from serving_support import (
    CLASSIFIERS,
    PENGUIN_COLUMNS,
    WRONG_PENGUIN_ROWS,
    classifier_dir,
    free_port,
    running_server,
)

from diabetes_model.serving.answer import label_text
from diabetes_model.serving.contract import example_request
from diabetes_model.serving.input_log import RollingJsonl, read_records
from diabetes_model.serving.predict import format_predictions, post
from diabetes_model.serving.serve import server_plan

SERVED = ("binary", "penguins")
SPECIES = {"Adelie", "Chinstrap", "Gentoo"}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("classifier-servers")


@pytest.fixture(scope="module")
def servers(root):
    """Both classifiers served at once, each with its own input log."""
    with contextlib.ExitStack() as stack:
        running = {}
        for name in SERVED:
            port = free_port()
            plan = server_plan(
                classifier_dir(name, root), port=port, input_log=root / f"{name}.jsonl"
            )
            argv, log = list(plan.argv), root / f"{name}.log"
            running[name] = stack.enter_context(running_server(argv, dict(plan.env), port, log))
        yield running


def score(servers, name: str, body: dict, request_id: str = "") -> requests.Response:
    url = f"{servers[name].url}/score"
    return requests.post(url, json=body, headers={"x-request-id": request_id}, timeout=30)


def penguins(rows: list[list[object]], columns: list[str] = PENGUIN_COLUMNS) -> dict:
    return {"input_data": {"columns": columns, "data": rows}}


@pytest.mark.parametrize("name", SERVED)
def test_it_answers_the_labels_and_probabilities_the_pipeline_gives(servers, root, name):
    import mlflow

    features = CLASSIFIERS[name].features(6)
    response = score(servers, name, example_request(features))
    assert response.status_code == 200, response.text
    pipeline = mlflow.sklearn.load_model(str(classifier_dir(name, root)))
    assert response.json()["predictions"] == pipeline.predict(features).tolist()
    keys = [label_text(label) for label in pipeline.classes_]
    probabilities = response.json()["probabilities"]
    assert [list(row) for row in probabilities] == [keys] * 6
    assert [list(row.values()) for row in probabilities] == pytest.approx(
        pipeline.predict_proba(features)
    )


@pytest.mark.parametrize("name", SERVED)
def test_invoke_predict_reads_and_prints_the_answer(servers, name):
    answer = post(f"{servers[name].url}/score", example_request(CLASSIFIERS[name].features(3)))
    assert answer.classification and len(answer.predictions) == 3
    lines = format_predictions(answer).splitlines()
    assert [line.split(":")[0] for line in lines] == ["row 0", "row 1", "row 2"]
    assert all(
        f": {label_text(label)} (" in line
        for label, line in zip(answer.predictions, lines, strict=True)
    )


def test_gaps_unseen_categories_and_an_all_missing_boolean_column_are_scored(servers):
    rows = [
        ["Atlantis", 38.0, 3600.0, True],  # an island training never saw
        [None, 38.0, 3600.0, True],  # no island
        ["Dream", 48.0, 3700.0, None],  # no sex
        [None, None, None, None],  # nothing at all
    ]
    response = score(servers, "penguins", penguins(rows))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer["predictions"]) <= SPECIES
    assert answer["probabilities"][0] == answer["probabilities"][1]  # unseen counts as missing
    # No sex in any row: MLflow's own schema check refused this column (NaN read as floats).
    none_sexed = score(servers, "penguins", penguins([[*row[:3], None] for row in rows]))
    assert none_sexed.status_code == 200, none_sexed.text
    assert set(none_sexed.json()["predictions"]) <= SPECIES


@WRONG_PENGUIN_ROWS
def test_a_wrong_type_or_unknown_column_is_422_naming_it(servers, columns, row, says):
    response = score(servers, "penguins", penguins([row], columns))
    assert response.status_code == 422, response.text
    assert says in response.json()["message"]


def test_the_log_holds_the_inputs_as_sent_and_the_label(servers, root):
    rows = [["Atlantis", 38.0, 3600.0, None], [None, None, 5000.0, False]]
    response = score(servers, "penguins", penguins(rows), request_id="penguin-log")
    assert response.status_code == 200, response.text
    records = [
        r
        for r in read_records(RollingJsonl(root / "penguins.jsonl"))
        if r["request_id"] == "penguin-log"
    ]
    assert [r["inputs"] for r in records] == [
        dict(zip(PENGUIN_COLUMNS, row, strict=True)) for row in rows
    ]
    assert [r["prediction"] for r in records] == response.json()["predictions"]
