"""The ``/ws`` acceptor: Nakama's checks before a WebSocket upgrade.

Order as in Nakama's socket_ws.go: the ``format`` parameter (400), then the
token from ``Authorization: Bearer`` or ``?token=`` (401 before any upgrade),
then ``lang`` and ``status``. Only then does the handshake itself run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .credentials import bearer_token
from .http import Request, Response, text_error

__all__ = ["SocketParams", "check_socket_request", "socket_route"]

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})  # Go's strconv.ParseBool


@dataclass(slots=True)
class SocketParams:
    """What an accepted socket request says about its session."""

    user_id: str
    username: str
    vars: dict[str, str]
    expiry: int
    lang: str
    status: bool
    client_ip: str
    client_port: str


def check_socket_request(services: Any, request: Request) -> Response | SocketParams:
    """A rejection response, or the session parameters of an acceptable request."""
    fmt = request.query_one("format", "")
    if fmt == "protobuf":
        # Nakama also speaks protobuf over binary frames; nkhost speaks JSON only.
        return text_error(400, "protobuf format not supported")
    if fmt not in ("", "json"):
        return text_error(400, "Invalid format parameter")
    auth = request.first_header("authorization")
    token = bearer_token(auth) if auth is not None else request.query_one("token", "")
    claims = services.tokens.parse_session(token) if token else None
    if claims is None:
        return text_error(401, "Missing or invalid token")
    return SocketParams(
        user_id=claims.user_id,
        username=claims.username,
        vars=dict(claims.vars),
        expiry=claims.exp,
        lang=request.query_one("lang") or "en",
        status=request.query_one("status", "") in _TRUE,
        client_ip=request.client_ip,
        client_port=request.client_port,
    )


async def socket_route(services: Any, request: Request) -> Response:
    """``GET /ws`` without an Upgrade header: the checks, then the handshake's 400."""
    checked = check_socket_request(services, request)
    if isinstance(checked, Response):
        return checked
    response = text_error(400, "Bad Request")
    response.headers.append(("Sec-Websocket-Version", "13"))
    return response
