"""The plumbing of the fake: requests in, routed by host and path to a handler, responses out.

Every HTTP call the Azure SDKs make in-process goes through `requests.adapters.HTTPAdapter.send`
(azure-core's RequestsTransport and msal both use requests), so replacing that one method puts the
whole cloud behind the router while the SDKs' own serialization, retry and upload code still runs.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import requests
import urllib3


@dataclass
class Request:
    """What a handler sees: the parsed URL, the headers and the body."""

    method: str
    url: str
    host: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # named groups of the matched route

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


@dataclass
class Response:
    """What a handler returns; `body` may be bytes, or anything JSON-serializable."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.body is None:
            data = b""
        elif isinstance(self.body, bytes):
            data = self.body
            headers.setdefault("Content-Type", "application/octet-stream")
        else:
            data = json.dumps(self.body).encode()
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        headers["Content-Length"] = str(len(data))
        return data, headers


def error(status: int, code: str, message: str) -> Response:
    """An error body in the shape ARM and Azure ML services use."""
    return Response(status, {"error": {"code": code, "message": message}})


Handler = Callable[[Request], Response]


class UnhandledRequest(AssertionError):
    """A request no route matches: the fake fails loud so that a new SDK call is noticed."""


class Router:
    """Routes by method, host regex and path regex (named groups become `request.params`)."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], re.Pattern[str], Handler]] = []

    def add(self, method: str, host: str, path: str, handler: Handler) -> None:
        self._routes.append(
            (method.upper(), re.compile(host, re.I), re.compile(path + r"/?", re.I), handler)
        )

    def route(self, method: str, host: str, path: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add(method, host, path, handler)
            return handler

        return register

    def dispatch(self, request: Request) -> Response:
        for method, host, path, handler in self._routes:
            host_match = host.fullmatch(request.host)
            if method not in (request.method, "*") or not host_match:
                continue
            match = path.fullmatch(request.path)
            if match:
                groups = {**host_match.groupdict(), **match.groupdict()}
                request.params = {k: unquote(v) for k, v in groups.items() if v}
                return handler(request)
        raise UnhandledRequest(f"the Azure fake has no route for {request.method} {request.url}")


def parse(prepared: requests.PreparedRequest) -> Request:
    parts = urlsplit(prepared.url or "")
    body = prepared.body
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    return Request(
        method=(prepared.method or "GET").upper(),
        url=prepared.url or "",
        host=parts.hostname or "",
        path=parts.path,
        query={k.lower(): v for k, v in parse_qsl(parts.query, keep_blank_values=True)},
        headers={k.lower(): v for k, v in prepared.headers.items()},
        body=body or b"",
    )


def to_requests_response(
    adapter: requests.adapters.HTTPAdapter, prepared: requests.PreparedRequest, response: Response
) -> requests.Response:
    # A real urllib3 response underneath, so streaming readers (blob downloads) work unchanged.
    data, headers = response.encoded()
    raw = urllib3.HTTPResponse(
        body=io.BytesIO(data),
        headers=headers,
        status=response.status,
        preload_content=False,
        decode_content=False,
        request_method=prepared.method,
        request_url=prepared.url,
    )
    return adapter.build_response(prepared, raw)
