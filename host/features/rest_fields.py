"""What the friends, groups and users REST doors share: reading a (possibly hook-rewritten)
request's fields, and answering a page of a listing."""

from __future__ import annotations

from typing import Any

from ..errors import ApiError, Code
from ..net.api_support import after_hook, int_query, ok
from ..net.http import Request, Response
from ..net.tokens import SessionClaims

__all__ = ["field", "strings", "query_strings", "page_query", "page_reply"]


def field(payload: dict[str, Any], name: str, kind: type) -> Any:
    """A field of the request, None when absent; a value of another JSON type is 400 / 3
    (a before hook may have put anything there; a boolean is no number)."""
    value = payload.get(name)
    if value is not None and type(value) is not kind:
        raise ApiError(Code.INVALID_ARGUMENT, f"Invalid value for field {name}.")
    return value


def strings(payload: dict[str, Any], name: str) -> list[str]:
    """A ``repeated string`` field; absent is empty."""
    value = payload.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(Code.INVALID_ARGUMENT, f"Invalid value for field {name}.")
    return value


def query_strings(request: Request, *names: str) -> dict[str, Any]:
    """The request's repeated query parameters among ``names``, as a request payload."""
    return {name: list(request.query[name]) for name in names if request.query.get(name)}


def page_query(request: Request, **fields: Any) -> dict[str, Any]:
    """A listing request: ``fields`` (path parameters) and the ``limit``, ``state`` and
    ``cursor`` query parameters that were given."""
    payload = dict(fields)
    for name in ("limit", "state"):
        value = int_query(request, name)
        if value is not None:
            payload[name] = value
    if request.query_one("cursor"):
        payload["cursor"] = request.query_one("cursor")
    return payload


async def page_reply(
    services: Any, hook: str, request: Request, payload: dict[str, Any], claims: SessionClaims,
    key: str, items: list[dict[str, Any]], cursor: str,
) -> Response:
    """A listing's answer (``{key: [...], "cursor"}``, each left out when empty), after the
    after hook has seen it."""
    body: dict[str, Any] = {}
    if items:
        body[key] = items
    if cursor:
        body["cursor"] = cursor
    await after_hook(services, hook, request, body, payload, claims)
    return ok(body)
