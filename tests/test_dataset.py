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

from diabetes_model.dataset import fetch_dataset, load_dataset, redact, write_bundled_dataset
from diabetes_model.errors import UserError
from diabetes_model.settings import DIABETES_FEATURES

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
    frame = load_dataset(info.path, "target", DIABETES_FEATURES)
    assert (info.rows, len(frame.columns)) == (442, 11)
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
    with pytest.raises(UserError, match=r"lacks expected column.*s1"):
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
    with pytest.raises(UserError, match=r"no rows"):
        load_dataset(header, "target")


def test_a_missing_data_file_says_to_run_invoke_data(tmp_path):
    with pytest.raises(UserError, match=r"not found; run 'invoke data'"):
        load_dataset(tmp_path / "missing.csv", "target")
