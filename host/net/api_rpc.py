"""``GET|POST /v2/rpc/{id}``: server-to-server and client RPCs over HTTP (Nakama's api_rpc.go).

Checks in Nakama's order: ``?http_key=``, else an Authorization header (Basic
whose username is the HTTP key, or a Bearer session token), else 401; then the
id; then the body (POST only; a JSON string unless ``unwrap`` is present).
Fixed error bodies are byte-for-byte Nakama's; a function error is
``{"code","error":{},"message"}`` with the status from its gRPC code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson

from ..runtime.errors import RpcError, RpcNotFound
from .context import http_context
from .credentials import bearer_token, parse_basic
from .http import Request, Response, error_response, http_status

__all__ = ["call", "start", "WAITING"]

log = logging.getLogger("nkhost.api")

WAITING = object()
"""``start``'s answer when the response comes later, through ``done`` (api.WAITING)."""
_INTERNAL = error_response(13, "Internal Server Error")


def _fixed(status: int, body: bytes) -> Response:
    return Response(status, body)


_AUTH_TOKEN_INVALID = _fixed(401, b'{"error":"Auth token invalid","message":"Auth token invalid","code":16}')
_HTTP_KEY_INVALID = _fixed(401, b'{"error":"HTTP key invalid","message":"HTTP key invalid","code":16}')
_NO_AUTH = _fixed(401, b'{"error":"Auth token or HTTP key required","message":"Auth token or HTTP key required","code":16}')
_ID_MUST_BE_SET = _fixed(400, b'{"error":"RPC ID must be set","message":"RPC ID must be set","code":3}')
_NOT_FOUND = _fixed(404, b'{"error":"RPC function not found","message":"RPC function not found","code":5}')
_BAD_JSON = _fixed(
    400,
    b'{"error":"json: cannot unmarshal object into Go value of type string",'
    b'"message":"json: cannot unmarshal object into Go value of type string","code":3}',
)
_BODY_TOO_LARGE = _fixed(400, b'{"code":3, "message":"http: request body too large"}')


async def call(services: Any, request: Request) -> Response:
    prepared = _prepare(services, request)
    if type(prepared) is Response:
        return prepared
    key, ctx, payload, unwrap = prepared
    try:
        result = await services.runtime.call_rpc(key, ctx, payload)
    except RpcNotFound:  # unloaded by a reload since the check in _prepare
        return _NOT_FOUND
    except RpcError as exc:
        return _failed(exc)
    return _answer(request, unwrap, result)


def start(services: Any, request: Request, done: Callable[[Response], None]) -> Any:
    """``call`` without a task: a Response now, or ``WAITING`` and ``done(response)`` later."""
    prepared = _prepare(services, request)
    if type(prepared) is Response:
        return prepared
    key, ctx, payload, unwrap = prepared

    def reply(ok: bool, value: Any) -> None:
        if ok:
            done(_answer(request, unwrap, value))
        elif isinstance(value, RpcError):
            done(_failed(value))
        elif isinstance(value, RpcNotFound):
            done(_NOT_FOUND)
        else:
            log.error("POST %s failed: %r", request.path, value)
            done(_INTERNAL)

    try:
        services.runtime.start_rpc(key, ctx, payload, reply)
    except RpcNotFound:
        return _NOT_FOUND
    return WAITING


def _prepare(services: Any, request: Request) -> Response | tuple[str, Any, str, bool]:
    """The checks before the call, in Nakama's order: a Response, or (rpc key, ctx, payload, unwrap)."""
    http_key = services.config.runtime.http_key
    claims = None
    query_key = request.query_one("http_key", "")
    if query_key:
        if query_key != http_key:
            return _HTTP_KEY_INVALID
    else:
        auth = request.first_header("authorization")
        if auth is None:
            return _NO_AUTH
        basic = parse_basic(auth)
        if basic is not None:
            if basic[0] != http_key:
                return _HTTP_KEY_INVALID
        else:
            token = bearer_token(auth)
            claims = services.tokens.parse_session(token) if token else None
            if claims is None:
                return _AUTH_TOKEN_INVALID

    rpc_id = request.path_params.get("id", "")
    if not rpc_id:
        return _ID_MUST_BE_SET
    lowered = rpc_id.lower()
    if not services.runtime.rpc_exists(lowered):
        return _NOT_FOUND

    unwrap = "unwrap" in request.query
    payload = ""
    if request.method == "POST":
        if request.body_too_large:
            return _BODY_TOO_LARGE
        body = request.body
        if body and not unwrap:
            try:
                decoded = orjson.loads(body)
            except orjson.JSONDecodeError:
                return _BAD_JSON
            if decoded is not None and not isinstance(decoded, str):
                return _BAD_JSON
            payload = decoded or ""
        else:
            payload = body.decode("utf-8", "replace")
    return lowered, http_context(request, claims), payload, unwrap


def _failed(exc: RpcError) -> Response:
    return Response(http_status(exc.code), orjson.dumps({"code": exc.code, "error": {}, "message": exc.message}))


def _answer(request: Request, unwrap: bool, result: str | None) -> Response:
    if not unwrap:
        return Response(200, orjson.dumps({"payload": result or ""}))
    return Response(200, (result or "").encode(), request.first_header("content-type") or "text/plain")
