"""Getting a CSV onto disk: bundled data, local copies and downloads over real HTTP on loopback."""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from diabetes_model.dataset import fetch_dataset, redact, write_bundled_dataset
from diabetes_model.errors import UserError
from diabetes_model.settings import DIABETES_FEATURES
from diabetes_model.tables import load_dataset

CSV = (
    "age,bmi,target\n" + "".join(f"{20 + i},{22.5 + i / 10},{100 + 3 * i}\n" for i in range(40))
).encode()
CSV_SHA = hashlib.sha256(CSV).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self):
        Handler.requests.append(self.path)
        path = self.path.split("?")[0]
        if path == "/data.csv":
            self._send(CSV)
        elif path == "/not-csv.csv":
            self._send(b"\x00\x01binary junk\xff\n" * 3)
        elif path == "/slow.csv":
            time.sleep(1.5)
            self._send(CSV)
        elif path == "/trickle.csv":  # half, then nothing for a while: a transfer to interrupt
            self.send_response(200)
            self.send_header("Content-Length", str(len(CSV)))
            self.end_headers()
            self.wfile.write(CSV[: len(CSV) // 2])
            self.wfile.flush()
            time.sleep(3)
        elif path == "/truncated.csv":
            self.send_response(200)
            self.send_header("Content-Length", str(len(CSV)))
            self.end_headers()
            self.wfile.write(CSV[: len(CSV) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_error(404)

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_the_bundled_data_is_the_diabetes_set_with_its_target(tmp_path):
    info = write_bundled_dataset(tmp_path / "data" / "diabetes.csv", "target")
    frame = load_dataset(info.path, "target")
    assert (info.rows, len(frame.columns)) == (442, 11)
    assert info.schema.names == list(DIABETES_FEATURES)
    assert (info.schema.task, info.schema.of_kind("numeric")) == ("regression", info.schema.names)
    assert frame["bmi"].between(15, 45).all()  # unscaled, as in Azure ML's diabetes example
    assert leftovers(tmp_path / "data") == ["diabetes.csv"]


def test_a_download_is_verified_and_written_in_place(server, tmp_path):
    dest = tmp_path / "data" / "d.csv"
    info = fetch_dataset(f"{server}/data.csv", dest, "target", ["age"], sha256=CSV_SHA)
    assert (info.fetched, info.rows, info.sha256) == (True, 40, CSV_SHA)
    assert dest.read_bytes() == CSV
    assert leftovers(dest.parent) == ["d.csv"]


def test_a_second_download_with_the_same_checksum_fetches_nothing(server, tmp_path):
    dest = tmp_path / "d.csv"
    fetch_dataset(f"{server}/data.csv", dest, "target", sha256=CSV_SHA)
    Handler.requests.clear()
    info = fetch_dataset(f"{server}/data.csv", dest, "target", sha256=CSV_SHA.upper())
    assert info.fetched is False
    assert Handler.requests == []


def test_a_checksum_mismatch_leaves_nothing_behind(server, tmp_path):
    dest = tmp_path / "data" / "d.csv"
    with pytest.raises(UserError, match=r"sha256 mismatch.*nothing was written"):
        fetch_dataset(f"{server}/data.csv", dest, "target", sha256="0" * 64)
    assert leftovers(dest.parent) == []


def test_an_interrupted_transfer_leaves_nothing_behind(server, tmp_path):
    dest = tmp_path / "data" / "d.csv"
    with pytest.raises(UserError, match=r"interrupted.*run it again"):
        fetch_dataset(f"{server}/truncated.csv", dest, "target", sha256=CSV_SHA)
    assert leftovers(dest.parent) == []


def test_an_interrupted_transfer_keeps_the_previous_good_copy(server, tmp_path):
    dest = tmp_path / "d.csv"
    dest.write_bytes(b"age,target\n" + b"1,2\n" * 12)
    before = dest.read_bytes()
    with pytest.raises(UserError):
        fetch_dataset(f"{server}/truncated.csv", dest, "target", sha256=CSV_SHA)
    assert dest.read_bytes() == before
    assert leftovers(tmp_path) == ["d.csv"]


def test_a_missing_file_on_the_server_is_a_clear_404(server, tmp_path):
    with pytest.raises(UserError, match=r"HTTP 404.*check the URL"):
        fetch_dataset(f"{server}/nope.csv", tmp_path / "d.csv", "target", sha256=CSV_SHA)
    assert leftovers(tmp_path) == []


def test_a_server_that_does_not_answer_in_time_is_a_timeout(server, tmp_path):
    with pytest.raises(UserError, match=r"timed out after 0.3s.*--timeout"):
        fetch_dataset(
            f"{server}/slow.csv", tmp_path / "d.csv", "target", sha256=CSV_SHA, timeout=0.3
        )
    assert leftovers(tmp_path) == []


def test_a_download_that_is_not_a_valid_table_is_not_kept(server, tmp_path):
    body = b"\x00\x01binary junk\xff\n" * 3
    with pytest.raises(UserError):
        fetch_dataset(
            f"{server}/not-csv.csv",
            tmp_path / "d.csv",
            "target",
            sha256=hashlib.sha256(body).hexdigest(),
        )
    assert leftovers(tmp_path) == []


def test_a_url_needs_a_checksum(tmp_path):
    with pytest.raises(UserError, match=r"needs --sha256"):
        fetch_dataset("https://example.invalid/d.csv", tmp_path / "d.csv", "target")


def test_errors_never_show_the_query_string_where_tokens_live(server, tmp_path):
    url = f"{server}/nope.csv?sv=2024&sig=SECRETSIGNATURE"
    with pytest.raises(UserError) as caught:
        fetch_dataset(url, tmp_path / "d.csv", "target", sha256=CSV_SHA)
    assert "SECRETSIGNATURE" not in str(caught.value)
    with_credentials = "https://user:pw@host:8443/a/b.csv?sig=x"  # pragma: allowlist secret
    assert redact(with_credentials) == "https://host:8443/a/b.csv"


def test_a_local_file_is_copied_and_validated(tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(CSV)
    info = fetch_dataset(str(source), tmp_path / "out" / "d.csv", "target", ["age", "bmi"])
    assert info.rows == 40


def test_a_local_file_without_the_expected_columns_is_not_copied(tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(CSV)
    with pytest.raises(UserError, match=r"in\.csv lacks the feature column\(s\) s1; fix the file"):
        fetch_dataset(str(source), tmp_path / "out" / "d.csv", "target", ["age", "s1"])
    assert leftovers(tmp_path / "out") == []


def test_a_missing_local_source_is_named(tmp_path):
    with pytest.raises(UserError, match=r"source file .*nope.csv not found"):
        fetch_dataset(str(tmp_path / "nope.csv"), tmp_path / "d.csv", "target")


def test_an_empty_csv_is_refused(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(UserError, match=r"is empty"):
        load_dataset(empty, "target")


def test_a_header_only_csv_is_refused(tmp_path):
    header = tmp_path / "header.csv"
    header.write_text("age,target\n")
    with pytest.raises(UserError, match=r"has a header but no rows"):
        load_dataset(header, "target")


def test_a_missing_data_file_says_to_run_invoke_data(tmp_path):
    with pytest.raises(UserError, match=r"not found; run `invoke data` first"):
        load_dataset(tmp_path / "missing.csv", "target")


def test_a_bad_copy_is_reported_under_the_users_file_name_not_the_temporary_one(tmp_path):
    source = tmp_path / "mine.csv"
    source.write_text("age,bmi\n1,2\n")
    with pytest.raises(UserError) as caught:
        fetch_dataset(str(source), tmp_path / "out" / "d.csv", "target")
    assert str(caught.value).startswith(f"{source} has no target column 'target'")
    assert ".part" not in str(caught.value)


def test_a_directory_as_source_or_data_is_named_as_a_directory(tmp_path):
    with pytest.raises(UserError, match=r"is a directory; give the CSV or Parquet file in it"):
        fetch_dataset(str(tmp_path), tmp_path / "d.csv", "target")
    with pytest.raises(UserError, match=r"is a directory, not a data file"):
        load_dataset(tmp_path, "target")


def test_a_checksum_that_is_not_hex_is_refused_before_anything_is_downloaded(server, tmp_path):
    Handler.requests.clear()
    with pytest.raises(UserError, match=r"--sha256 'abc' is not a SHA-256 \(64 hex digits\)"):
        fetch_dataset(f"{server}/data.csv", tmp_path / "d.csv", "target", sha256="abc")
    assert Handler.requests == []


def test_sigterm_during_a_download_leaves_no_temporary_file(server, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    dest = tmp_path / "data" / "d.csv"
    code = (
        "import sys; from diabetes_model.dataset import fetch_dataset\n"
        f"fetch_dataset({server + '/trickle.csv'!r}, __import__('pathlib').Path({str(dest)!r}),"
        f" 'target', sha256={CSV_SHA!r})"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not list(dest.parent.glob("*.part")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(dest.parent.glob("*.part")), "the download never started"
    os.kill(child.pid, signal.SIGTERM)
    child.wait(timeout=30)
    assert child.returncode != 0
    assert leftovers(dest.parent) == []


def test_a_temporary_file_a_killed_run_left_is_removed_by_the_next_run(tmp_path):
    dest = tmp_path / "data" / "d.csv"
    dest.parent.mkdir()
    (dest.parent / ".d.csv.abc123.part").write_bytes(b"half a file")
    source = tmp_path / "in.csv"
    source.write_bytes(CSV)
    fetch_dataset(str(source), dest, "target")
    assert leftovers(dest.parent) == ["d.csv"]


def test_parquet_is_taken_as_csv_is_checked_hashed_and_kept_as_parquet(tmp_path):
    import pandas as pd

    source = tmp_path / "in.parquet"
    mass = [3000 + (37 * i) % 900 for i in range(30)]
    frame = pd.DataFrame({"island": ["a", "b", None] * 10, "mass": mass, "target": range(30)})
    frame.to_parquet(source)
    dest = tmp_path / "data" / "in.parquet"
    info = fetch_dataset(
        str(source), dest, "target", sha256=hashlib.sha256(source.read_bytes()).hexdigest()
    )
    assert (info.rows, dest.read_bytes()) == (30, source.read_bytes())
    assert [(f.name, f.kind) for f in info.schema.features] == [
        ("island", "categorical"),
        ("mass", "numeric"),
    ]
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(UserError, match=r"bad\.parquet is not a readable Parquet file"):
        fetch_dataset(str(bad), tmp_path / "data" / "bad.parquet", "target")
    assert leftovers(tmp_path / "data") == ["in.parquet"]


def project_copy(tmp_path: Path):
    import os
    import shutil

    import yaml

    from diabetes_model.project import Project

    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(Path(__file__).resolve().parents[1] / "invoke.yaml", root / "invoke.yaml")
    config = yaml.safe_load((root / "invoke.yaml").read_text())
    return root, Project.load(
        root, config, {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    )


def test_a_new_table_with_its_target_goes_to_data_and_invoke_yaml_points_at_it(tmp_path):
    import pandas as pd
    import yaml

    from diabetes_model.dataset import adopt_table, put_dataset

    root, project = project_copy(tmp_path)
    before = (root / "invoke.yaml").read_text()
    source = tmp_path / "penguins.csv"
    pd.DataFrame(
        {
            "id": range(1, 41),
            "island": ["Biscoe", "Dream", None, "Torgersen"] * 10,
            "mass": [3000.0 + 37 * (i % 13) for i in range(40)],
            "species": ["Adelie", "Gentoo"] * 20,
        }
    ).to_csv(source, index=False)

    info = put_dataset(project, str(source), target="species")
    said = adopt_table(project, info, str(source))

    assert info.path == root / "data" / "penguins.csv"
    assert info.schema.names == ["island", "mass"]  # the id is left out, and said so
    assert dict(info.schema.dropped) == {
        "id": "an id (a whole number unique per row, or named like one)"
    }
    settings = yaml.safe_load((root / "invoke.yaml").read_text())["project"]
    assert settings["data_path"] == "data/penguins.csv"
    assert (settings["target"], settings["task"]) == ("species", "auto")
    assert (settings["features"], settings["ignore"]) == ("island, mass", "")
    # A later `invoke data` without flags copies this table again, not the bundled demo data.
    assert (settings["data_source"], settings["data_sha256"]) == (str(source), "")
    assert settings["model_name"] == "diabetes-regressor"  # the rest is as it was
    after = (root / "invoke.yaml").read_text()
    kept = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert all(line in after for line in kept), "comments are kept"
    assert "data/penguins.csv" in said


def test_after_adopting_a_table_invoke_data_without_flags_fetches_it_again(tmp_path):
    import pandas as pd
    import yaml

    from diabetes_model.dataset import adopt_table, put_dataset
    from diabetes_model.project import Project

    root, project = project_copy(tmp_path)
    source = tmp_path / "churn.csv"
    frame = pd.DataFrame({"tenure": range(30), "plan": ["a", "b", "c"] * 10, "left": [0, 1] * 15})
    frame.to_csv(source, index=False)
    adopt_table(project, put_dataset(project, str(source), target="left"), str(source))
    (root / "data" / "churn.csv").unlink()

    config = yaml.safe_load((root / "invoke.yaml").read_text())
    again = put_dataset(Project.load(root, config, {}))

    assert again.path == root / "data" / "churn.csv"
    assert list(pd.read_csv(again.path).columns) == ["tenure", "plan", "left"]


def test_a_table_of_another_format_needs_target_to_come_in_as_a_new_table(tmp_path):
    import pandas as pd

    from diabetes_model.dataset import put_dataset

    _, project = project_copy(tmp_path)
    source = tmp_path / "new.parquet"
    pd.DataFrame({"x": range(20), "target": range(20)}).to_parquet(source)
    with pytest.raises(
        UserError,
        match=r"new\.parquet and project\.data_path .* are not the same format; add --target",
    ):
        put_dataset(project, str(source))


def test_names_beyond_ascii_are_written_to_invoke_yaml_as_they_read(tmp_path):
    import pandas as pd
    import yaml

    from diabetes_model.dataset import adopt_table, put_dataset

    root, project = project_copy(tmp_path)
    source = tmp_path / "wohnungen.csv"
    rows = {
        "Größe (m²)": [30.0 + i for i in range(20)],
        "Preis (€)": [1000.0 * i for i in range(20)],
    }
    pd.DataFrame(rows).to_csv(source, index=False)

    adopt_table(project, put_dataset(project, str(source), target="Preis (€)"), str(source))

    text = (root / "invoke.yaml").read_text(encoding="utf-8")
    assert "  target: Preis (€)\n" in text  # as a person typed it, not "Preis (\\u20AC)"
    assert "  features: Größe (m²)\n" in text
    assert yaml.safe_load(text)["project"]["target"] == "Preis (€)"


def test_without_a_source_it_takes_the_table_project_data_source_names(tmp_path):
    import dataclasses

    import pandas as pd

    from diabetes_model.dataset import put_dataset

    _, project = project_copy(tmp_path)
    source = tmp_path / "churn.csv"
    pd.DataFrame({"tenure": [i % 7 for i in range(40)], "churned": ["yes", "no"] * 20}).to_csv(
        source, index=False
    )
    settings = dataclasses.replace(
        project.settings,
        data_source=str(source),
        data_path=str(tmp_path / "project" / "data" / "churn.csv"),
        target="churned",
        features=(),
    )
    info = put_dataset(dataclasses.replace(project, settings=settings))

    assert info.path == tmp_path / "project" / "data" / "churn.csv"
    assert info.schema.target == "churned" and info.schema.names == ["tenure"]
    assert info.path.read_bytes() == source.read_bytes()  # not the bundled diabetes data


def test_an_empty_data_source_setting_writes_the_bundled_data(tmp_path):
    import dataclasses

    from diabetes_model.dataset import put_dataset

    _, project = project_copy(tmp_path)
    settings = dataclasses.replace(project.settings, data_source="", target="target")
    info = put_dataset(dataclasses.replace(project, settings=settings))
    assert info.rows == 442 and info.schema.target == "target"
