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

__all__ = [
    "Request",
    "Response",
    "Handler",
    "json_response",
    "error_response",
    "text_error",
    "http_status",
    "canonical_header_name",
    "GRPC_TO_HTTP",
]

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
    client_port: str = ""  # as Nakama's ctx carries it: a string, empty when unknown
    path_params: dict[str, str] = field(default_factory=dict)
    raw_headers: list[tuple[str, str]] = field(default_factory=list)  # as received, in order
    body_too_large: bool = False  # the body passed socket.max_request_size_bytes and was cut

    def query_one(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def first_header(self, name: str) -> str | None:
        """The first value of a header (Go's ``r.Header[name][0]``); ``name`` in lowercase."""
        for key, value in self.raw_headers:
            if key.lower() == name:
                return value
        return None

    def header_values(self) -> dict[str, list[str]]:
        """Go's ``r.Header``: canonical names to every value, Host excluded.

        This is what Lua sees as ``ctx.headers`` on an HTTP RPC.
        """
        out: dict[str, list[str]] = {}
        for name, value in self.raw_headers:
            key = canonical_header_name(name)
            if key != "Host":
                out.setdefault(key, []).append(value)
        return out


def client_address(headers: dict[str, str], peer: tuple[str, str]) -> tuple[str, str]:
    """The client's (ip, port) as Nakama takes it (extractClientAddressFromRequest): a
    CF-Connecting-IP header, else the first X-Forwarded-For entry, else the TCP peer.

    Like Nakama it trusts those headers: put nkhost behind a proxy that sets them. A
    forwarded address without a port gives an empty port.
    """
    forwarded = headers.get("cf-connecting-ip") or headers.get("x-forwarded-for", "").split(",", 1)[0]
    forwarded = forwarded.strip()
    if not forwarded:
        return peer
    return _split_host_port(forwarded)


def _split_host_port(addr: str) -> tuple[str, str]:
    """Go's net.SplitHostPort, with Nakama's fallbacks: where Go says "missing port" or "too
    many colons" the whole text is the ip; any other error gives no address at all."""
    i = addr.rfind(":")
    if i < 0:
        return addr, ""  # missing port
    if addr.startswith("["):
        end = addr.find("]")
        if end < 0:
            return "", ""  # missing ']'
        if end + 1 != i:
            return addr, ""  # missing port, or too many colons after the ']'
        host, j, k = addr[1:end], 1, end + 1
    else:
        host, j, k = addr[:i], 0, 0
        if ":" in host:
            return addr, ""  # too many colons: an IPv6 address without brackets
    if "[" in addr[j:] or "]" in addr[k:]:
        return "", ""  # unexpected '[' or ']'
    return host, addr[i + 1:]


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[Any, Request], Awaitable[Response]]


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(status, orjson.dumps(obj))


_NON_TOKEN = frozenset(" \t\"(),/:;<=>?@[\\]{}")
_CANONICAL: dict[str, str] = {}  # memo: clients repeat the same few names on every request
_CANONICAL_MAX = 1024  # bounded, so odd names sent by a client cannot grow it without end


def _canonical(name: str) -> str:
    if not name or not name.isascii() or not name.isprintable() or not _NON_TOKEN.isdisjoint(name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def canonical_header_name(name: str) -> str:
    """Go's CanonicalMIMEHeaderKey: "x-custom-id" -> "X-Custom-Id".

    Names holding a space or other non-token byte are returned unchanged, as Go does.
    Memoised: ~5 µs a name computed, ~0.1 µs looked up.
    """
    canonical = _CANONICAL.get(name)
    if canonical is None:
        canonical = _canonical(name)
        if len(_CANONICAL) < _CANONICAL_MAX:
            _CANONICAL[name] = canonical
    return canonical


def text_error(status: int, message: str) -> Response:
    """Go's ``http.Error``: a plain-text body ending in a newline."""
    return Response(
        status,
        (message + "\n").encode(),
        "text/plain; charset=utf-8",
        [("X-Content-Type-Options", "nosniff")],
    )


def error_response(grpc_code: int, message: str, with_error_field: bool = False) -> Response:
    """grpc-gateway's Status JSON; RPC errors also carry Nakama's ``"error"`` field."""
    body: dict[str, Any] = {"code": grpc_code, "message": message}
    if with_error_field:
        body["error"] = message
    return Response(http_status(grpc_code), orjson.dumps(body))
