"""``GET /v2/party``: list the parties clients may see (Nakama's ListParties).

Bearer session auth; query ``limit`` (1-100, default 10), ``open``, ``query`` ("" lists all)
and ``cursor``. Hidden parties are never listed here. The ``ListParties`` before/after hooks
run from Lua too (Nakama only wires them for Go). A bad query or cursor is the client's
mistake: 400 / code 3 "Error listing parties: ..." where Nakama answered every failure with
500 "Error listing matches.".
"""

from __future__ import annotations

from typing import Any

from ...errors import ApiError, Code
from ...net.api import Route
from ...net.api_support import after_hook, authenticate_bearer, before_hook, bool_query, endpoint, int_query, ok
from ...net.http import Request, Response
from .core import NAME, Parties

__all__ = ["ROUTES"]

def _request(request: Request) -> dict[str, Any]:
    """ListPartiesRequest in its JSON form (what a before hook sees), absent fields left out."""
    out: dict[str, Any] = {}
    limit = int_query(request, "limit")
    if limit is not None:
        out["limit"] = limit
    open_ = bool_query(request, "open")
    if open_ is not None:
        out["open"] = open_
    for name in ("query", "cursor"):
        value = request.query_one(name)
        if value is not None:
            out[name] = value
    return out


def _field(payload: dict[str, Any], name: str, kinds: tuple[type, ...]) -> Any:
    """A field of the (possibly hook-rewritten) request, of the expected JSON type."""
    value = payload.get(name)
    if value is not None and (not isinstance(value, kinds) or (type(value) is bool and bool not in kinds)):
        raise ApiError(Code.INVALID_ARGUMENT, f"Invalid value for field {name}.")
    return value


@endpoint
async def list_parties(services: Any, request: Request) -> Response:
    claims = authenticate_bearer(services, request)
    payload = await before_hook(services, "ListParties", request, _request(request), claims)
    limit = _field(payload, "limit", (int,))
    if limit is not None and not 1 <= limit <= 100:
        raise ApiError(Code.INVALID_ARGUMENT, "Invalid limit - limit must be between 1 and 100.")
    core: Parties = services.features[NAME]
    parties, cursor = core.list(
        10 if limit is None else limit,
        _field(payload, "open", (bool,)),
        False,
        _field(payload, "query", (str,)) or "",
        _field(payload, "cursor", (str,)) or "",
    )
    response: dict[str, Any] = {}
    if parties:
        response["parties"] = [p.to_wire() for p in parties]
    if cursor:
        response["cursor"] = cursor
    await after_hook(services, "ListParties", request, response, payload, claims)
    return ok(response)


ROUTES = [Route(("GET",), "/v2/party", list_parties)]
