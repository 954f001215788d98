"""The rolling JSON-lines record of scored inputs."""

from __future__ import annotations

import multiprocessing

import pytest

from diabetes_model.serving.input_log import RollingJsonl, read_records


def test_records_read_back_in_the_order_written(tmp_path):
    log = RollingJsonl(tmp_path / "inputs.jsonl")
    log.append([{"n": 1}, {"n": 2}])
    log.append([{"n": 3}])
    assert [r["n"] for r in read_records(log)] == [1, 2, 3]


def test_a_full_file_rolls_over_and_only_the_newest_backups_are_kept(tmp_path):
    log = RollingJsonl(tmp_path / "inputs.jsonl", max_bytes=40, backups=2)
    for n in range(10):
        log.append([{"n": n, "pad": "x" * 10}])  # ~23 bytes a line: one line per file
    names = sorted(path.name for path in tmp_path.glob("inputs.jsonl*") if path.suffix != ".lock")
    assert names == ["inputs.jsonl", "inputs.jsonl.1", "inputs.jsonl.2"]
    assert [r["n"] for r in read_records(log)] == [7, 8, 9]


def test_a_torn_last_line_is_skipped(tmp_path):
    log = RollingJsonl(tmp_path / "inputs.jsonl")
    log.append([{"n": 1}])
    with log.path.open("a") as file:
        file.write('{"n": 2, "tr')
    assert [r["n"] for r in read_records(log)] == [1]


def test_an_empty_append_creates_nothing(tmp_path):
    log = RollingJsonl(tmp_path / "inputs.jsonl")
    log.append([])
    assert not log.path.exists() and list(read_records(log)) == []


def _append_many(path: str, worker: int) -> None:
    log = RollingJsonl(path, max_bytes=2_000, backups=50)
    for n in range(100):
        log.append([{"worker": worker, "n": n}])


def test_workers_appending_at_once_lose_no_line(tmp_path):
    path = str(tmp_path / "inputs.jsonl")
    processes = [multiprocessing.Process(target=_append_many, args=(path, w)) for w in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=30)
    records = list(read_records(RollingJsonl(path, backups=50)))
    assert sorted((r["worker"], r["n"]) for r in records) == [
        (w, n) for w in range(3) for n in range(100)
    ]


def test_nonsense_limits_are_refused(tmp_path):
    with pytest.raises(ValueError):
        RollingJsonl(tmp_path / "x.jsonl", max_bytes=0)
