"""Plumbing shared by the REST handlers: errors, JSON input, credentials, runtime hooks.

* ``endpoint`` turns a raised ``ApiError`` (or a hook's ``RpcError``) into grpc-gateway's
  ``{"code","message"}`` body with the mapped HTTP status, so handlers just raise; a database
  failure no core translated becomes a plain 13 with one log line, never a traceback.
* Input follows grpc-gateway + protojson with ``DiscardUnknown``: unknown fields are ignored,
  ``null`` means absent, lowerCamel names are accepted beside snake_case, and a non-JSON body or
  a wrongly-typed known field is 400 / code 3. An empty body reads as ``{}``.
* ``require_server_key`` and ``authenticate_bearer`` are Nakama's security interceptor
  (api.go) for the "server key" and "session token" routes, with its error texts.
* ``before_hook`` / ``after_hook`` run ``register_req_before/after`` functions once for every
  handler: a before hook may replace the request (as a dict in the proto's JSON shape) or reject
  it by returning nil; an error raised by an after hook is logged and ignored, as Nakama does.
"""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from host.net.credentials import bearer_token, parse_basic
from host.net.http import Request, Response, error_response, json_response
from host.net.tokens import SessionClaims
from host.runtime.errors import RpcError
from host.errors import Code, ApiError
from host.storage import DatabaseError, DatabaseUnavailable

__all__ = [
    "endpoint",
    "ok",
    "json_object",
    "str_field",
    "opt_str_field",
    "map_field",
    "bool_query",
    "int_query",
    "require_server_key",
    "authenticate_bearer",
    "before_hook",
    "after_hook",
]

log = logging.getLogger("nkhost.api")

ApiHandler = Callable[[Any, Request], Awaitable[Response]]


def endpoint(fn: ApiHandler) -> ApiHandler:
    """Wrap a handler so that ApiError / RpcError become Nakama's error responses."""

    @functools.wraps(fn)
    async def handler(services: Any, request: Request) -> Response:
        try:
            return await fn(services, request)
        except ApiError as exc:
            return error_response(exc.code, exc.message)
        except RpcError as exc:
            return error_response(exc.code, exc.message)
        except DatabaseError as exc:
            if not isinstance(exc, DatabaseUnavailable):  # the engine logged that one already
                log.error("database error in %s %s: %s", request.method, request.path, exc)
            return error_response(Code.INTERNAL, "Internal Server Error")

    return handler


def ok(obj: dict[str, Any]) -> Response:
    return json_response(obj)


# JSON input ----------------------------------------------------------------------------


def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object; empty means ``{}`` (grpc-gateway treats EOF as an empty message)."""
    body = request.body
    if not body.strip():
        return {}
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(Code.INVALID_ARGUMENT, f"Invalid JSON body: {exc}") from None
    if not isinstance(value, dict):
        raise ApiError(Code.INVALID_ARGUMENT, "Invalid JSON body: expected an object.")
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _get(obj: dict[str, Any], name: str) -> Any:
    value = obj.get(name)
    if value is None and "_" in name:
        value = obj.get(_camel(name))
    return value


def str_field(obj: dict[str, Any], name: str) -> str:
    """A string field; absent or null is ""."""
    value = _get(obj, name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(Code.INVALID_ARGUMENT, f"Invalid value for string field {name}: {_short(value)}")
    return value


def opt_str_field(obj: dict[str, Any], name: str) -> str | None:
    """A ``google.protobuf.StringValue`` field: None when absent or null, so "" can mean "clear"."""
    return None if _get(obj, name) is None else str_field(obj, name)


def map_field(obj: dict[str, Any], name: str) -> dict[str, str] | None:
    """A ``map<string,string>`` field; None when absent or null (so callers can tell "not sent")."""
    value = _get(obj, name)
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ApiError(Code.INVALID_ARGUMENT, f"Invalid value for map field {name}: {_short(value)}")
    return dict(value)


def object_field(obj: dict[str, Any], name: str) -> dict[str, Any] | None:
    """A nested message; None when absent or null."""
    value = _get(obj, name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError(Code.INVALID_ARGUMENT, f"Invalid value for message field {name}: {_short(value)}")
    return value


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 40 else text[:37] + "..."


_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def bool_query(request: Request, name: str) -> bool | None:
    """A ``google.protobuf.BoolValue`` query parameter (Go's strconv.ParseBool); None if absent."""
    raw = request.query_one(name)
    if raw is None:
        return None
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ApiError(Code.INVALID_ARGUMENT, f'parsing field "{name}": strconv.ParseBool: parsing "{raw}": invalid syntax')


def int_query(request: Request, name: str, bits: int = 32) -> int | None:
    """An ``Int32Value``/``Int64Value`` query parameter (Go's strconv.ParseInt); None if absent."""
    raw = request.query_one(name)
    if raw is None:
        return None
    text = raw[1:] if raw[:1] in ("+", "-") else raw
    if text.isascii() and text.isdigit():
        value = int(raw)
        if -(1 << (bits - 1)) <= value < 1 << (bits - 1):
            return value
        problem = "value out of range"
    else:
        problem = "invalid syntax"
    raise ApiError(Code.INVALID_ARGUMENT, f'parsing field "{name}": strconv.ParseInt: parsing "{raw}": {problem}')


# Credentials ---------------------------------------------------------------------------


def require_server_key(services: Any, request: Request) -> None:
    """Basic auth whose username is ``socket.server_key``; the password part is ignored."""
    header = request.headers.get("authorization")
    if header is None:
        raise ApiError(Code.UNAUTHENTICATED, "Server key required")
    creds = parse_basic(header)
    expected = services.config.socket.server_key.encode()
    if creds is None or not hmac.compare_digest(creds[0].encode(), expected):
        raise ApiError(Code.UNAUTHENTICATED, "Server key invalid")


def authenticate_bearer(services: Any, request: Request) -> SessionClaims:
    """The claims of a valid, not logged-out ``Authorization: Bearer`` session token.

    Raises ApiError 16 "Auth token required" without the header, "Auth token invalid" for a
    malformed, forged, expired or invalidated token.
    """
    header = request.headers.get("authorization")
    if header is None:
        raise ApiError(Code.UNAUTHENTICATED, "Auth token required")
    token = bearer_token(header)
    claims = services.tokens.parse_session(token) if token else None
    if claims is None:
        raise ApiError(Code.UNAUTHENTICATED, "Auth token invalid")
    return claims


# Runtime hooks -------------------------------------------------------------------------


def _call_context(request: Request, mode: str, claims: SessionClaims | None) -> Any:
    # Imported here: the runtime is optional, and a server without hooks never loads it.
    from host.net.context import http_context

    return http_context(request, claims, mode)


def _runtime_with(services: Any, kind: str, name: str) -> Any:
    runtime = getattr(services, "runtime", None)
    if runtime is None or not runtime.has_hook(kind, name):
        return None
    return runtime


async def before_hook(
    services: Any,
    name: str,
    request: Request,
    payload: dict[str, Any],
    claims: SessionClaims | None = None,
    *,
    replaceable: bool = True,
) -> dict[str, Any]:
    """Run the ``req_before`` hook ``name`` (e.g. "AuthenticateDevice") if one is registered.

    Returns the request to use: the hook's result, or ``payload`` when there is no hook or the
    call has no input to replace (``replaceable=False``, e.g. GetAccount, where nil is ignored).
    Raises ApiError 5 "Requested resource was not found." when the hook returns nil, or the
    hook's own code and message when it raises.
    """
    runtime = _runtime_with(services, "req_before", name)
    if runtime is None:
        return payload
    ctx = _call_context(request, "before", claims)
    try:
        result = await runtime.before_req(name, ctx, payload)
    except RpcError as exc:
        raise ApiError(exc.code, exc.message) from None
    if not replaceable:
        return payload
    if result is None:
        log.warning("Intercepted a disabled resource.", extra={"resource": name})
        raise ApiError(Code.NOT_FOUND, "Requested resource was not found.")
    if not isinstance(result, dict):
        raise ApiError(Code.INTERNAL, "Error processing request before hook result.")
    return result


async def after_hook(
    services: Any,
    name: str,
    request: Request,
    response: dict[str, Any],
    payload: dict[str, Any] | None,
    claims: SessionClaims | None = None,
) -> None:
    """Run the ``req_after`` hook ``name`` if one is registered; its errors never reach the client."""
    runtime = _runtime_with(services, "req_after", name)
    if runtime is None:
        return
    ctx = _call_context(request, "after", claims)
    try:
        await runtime.after_req(name, ctx, response, payload)
    except RpcError as exc:
        log.warning("Error running after hook %s: %s", name, exc)
