"""The test helper that starts a server: it waits for readiness, however long the model takes."""

from __future__ import annotations

import sys
import time

import pytest
import requests
from serving_support import free_port, running_server

# Listens at once (as gunicorn's master does) but answers only after `load` seconds (as its worker
# does once init() has loaded the model): connections made meanwhile wait in the listen backlog.
SLOW_SERVER = """
import socket, sys, time
port, load = int(sys.argv[1]), float(sys.argv[2])
listener = socket.create_server(("127.0.0.1", port), backlog=64)
time.sleep(load)
while True:
    client, _ = listener.accept()
    client.recv(65536)
    client.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 7\\r\\nConnection: close\\r\\n\\r\\nHealthy")
    client.close()
"""


def test_it_waits_for_a_server_that_loads_longer_than_one_probe(tmp_path):
    port = free_port()
    argv = [sys.executable, "-c", SLOW_SERVER, str(port), "6"]
    started = time.monotonic()
    with running_server(argv, {}, port, tmp_path / "server.log", timeout=60) as running:
        assert time.monotonic() - started >= 6
        assert requests.get(f"{running.url}/", timeout=5).text == "Healthy"


def test_it_gives_up_at_the_deadline_with_the_log(tmp_path):
    port = free_port()
    argv = [sys.executable, "-c", SLOW_SERVER, str(port), "600"]
    starting = running_server(argv, {}, port, tmp_path / "server.log", timeout=3)
    with pytest.raises(RuntimeError, match="not ready after 3 s"), starting:
        pass


def test_it_reports_a_server_that_exits(tmp_path):
    argv = [sys.executable, "-c", "print('no model here'); raise SystemExit(3)"]
    starting = running_server(argv, {}, free_port(), tmp_path / "server.log", timeout=30)
    with pytest.raises(RuntimeError, match="exited with 3:\nno model here"), starting:
        pass
