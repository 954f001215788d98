"""A fake of GitHub's REST API on a loopback port: it records every request and answers the
workflow-dispatch call as GitHub does (204), or with the refusal a test sets."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: dict


@dataclass
class FakeGitHub:
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    # The next answers: (status, message); 204 with no body when empty.
    refusals: list[tuple[int, str]] = field(default_factory=list)

    def refuse(self, status: int, message: str) -> None:
        self.refusals.append((status, message))


@contextmanager
def github_api() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            headers = {k.lower(): v for k, v in self.headers.items()}
            fake.requests.append(Received("POST", self.path, headers, body))
            if fake.refusals:
                status, message = fake.refusals.pop(0)
                data = json.dumps({"message": message, "status": str(status)}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
