"""REST door: ``GET /v2/match`` (ListMatches), with Nakama's query parameters and texts.

An unparsable ``query`` is a 400 (code 3) naming the problem; Nakama answers 500
"Error listing matches.".
"""

from __future__ import annotations

from typing import Any

from ...errors import ApiError, Code
from ...net.api import Route
from ...net.api_support import after_hook, authenticate_bearer, before_hook, bool_query, endpoint, int_query, ok
from ...net.http import Request, Response
from .core import Matches
from ..labelquery import QueryError
from .registry import ListRequest

__all__ = ["ROUTES"]

NAME = "matches"
_DEFAULT_LIMIT = 10


def _query(request: Request, name: str) -> str | None:
    camel = name.split("_")[0] + "".join(part.title() for part in name.split("_")[1:])
    value = request.query_one(name)
    return value if value is not None else request.query_one(camel)


def _int_query(request: Request, name: str) -> int | None:
    camel = name.split("_")[0] + "".join(part.title() for part in name.split("_")[1:])
    return int_query(request, name if request.query_one(name) is not None else camel)


def _payload(request: Request) -> dict[str, Any]:
    """The ListMatchesRequest as its hook sees it (wrapper values plain, absent ones omitted)."""
    fields = {
        "limit": _int_query(request, "limit"),
        "authoritative": bool_query(request, "authoritative"),
        "label": _query(request, "label"),
        "min_size": _int_query(request, "min_size"),
        "max_size": _int_query(request, "max_size"),
        "query": _query(request, "query"),
    }
    return {k: v for k, v in fields.items() if v is not None}


def _typed(payload: dict[str, Any], name: str, kind: type) -> Any:
    value = payload.get(name)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool)):
        raise ApiError(Code.INVALID_ARGUMENT, f"Invalid value for field {name}.")
    return value


def list_request(payload: dict[str, Any]) -> ListRequest:
    limit = _typed(payload, "limit", int)
    authoritative = _typed(payload, "authoritative", bool)
    label, query = _typed(payload, "label", str), _typed(payload, "query", str)
    min_size, max_size = _typed(payload, "min_size", int), _typed(payload, "max_size", int)
    limit = _DEFAULT_LIMIT if limit is None else limit
    if not 1 <= limit <= 100:
        raise ApiError(Code.INVALID_ARGUMENT, "Invalid limit - limit must be between 1 and 100.")
    if label is not None and authoritative is False:
        raise ApiError(Code.INVALID_ARGUMENT, "Label filtering is not supported for non-authoritative matches.")
    if query is not None and authoritative is False:
        raise ApiError(Code.INVALID_ARGUMENT, "Query filtering is not supported for non-authoritative matches.")
    if min_size is not None and min_size < 0:
        raise ApiError(Code.INVALID_ARGUMENT, "Minimum size must be 0 or above.")
    if max_size is not None and max_size < 0:
        raise ApiError(Code.INVALID_ARGUMENT, "Maximum size must be 0 or above.")
    if min_size is not None and max_size is not None and max_size < min_size:
        raise ApiError(Code.INVALID_ARGUMENT, "Maximum size must be greater than or equal to minimum size when both are specified.")
    return ListRequest(limit, authoritative, label, min_size, max_size, query)


@endpoint
async def list_matches(services: Any, request: Request) -> Response:
    """GET /v2/match (Bearer)."""
    claims = authenticate_bearer(services, request)
    payload = await before_hook(services, "ListMatches", request, _payload(request), claims)
    core: Matches = services.features[NAME]
    try:
        entries = core.list(list_request(payload))
    except QueryError as exc:
        raise ApiError(Code.INVALID_ARGUMENT, f"Invalid match query: {exc}") from None
    body: dict[str, Any] = {"matches": [e.wire() for e in entries]} if entries else {}
    await after_hook(services, "ListMatches", request, body, payload, claims)
    return ok(body)


ROUTES = [Route(("GET",), "/v2/match", list_matches)]
