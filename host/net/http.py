"""Plain HTTP request/response values and Nakama's error bodies.

Handlers are ``async def handler(services, request) -> Response``; the socket
layer parses bytes into a Request and serialises the Response, so handlers are
testable without a socket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = ["Request", "Response", "Handler", "json_response", "error_response", "http_status", "GRPC_TO_HTTP"]

# grpc-gateway's HTTPStatusFromCode.
GRPC_TO_HTTP = {
    0: 200, 1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403,
    8: 429, 9: 400, 10: 409, 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401,
}


def http_status(grpc_code: int) -> int:
    return GRPC_TO_HTTP.get(grpc_code, 500)


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lowercase names; repeated headers joined by ", "
    body: bytes = b""
    client_ip: str = ""
    client_port: int = 0
    path_params: dict[str, str] = field(default_factory=dict)

    def query_one(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[Any, Request], Awaitable[Response]]


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(status, orjson.dumps(obj))


def error_response(grpc_code: int, message: str, with_error_field: bool = False) -> Response:
    """grpc-gateway's Status JSON; RPC errors also carry Nakama's ``"error"`` field."""
    body: dict[str, Any] = {"code": grpc_code, "message": message}
    if with_error_field:
        body["error"] = message
    return Response(http_status(grpc_code), orjson.dumps(body))
