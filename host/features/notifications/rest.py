"""REST doors: ``GET /v2/notification`` (list) and ``DELETE /v2/notification?ids=`` (delete).

Where Nakama answers a client's bad input with a 500 (a malformed cursor, a non-UUID id)
this answers what the client meant: a 400 for the cursor, and an id that cannot exist is
simply not deleted.
"""

from __future__ import annotations

import uuid
from typing import Any

from ...errors import ApiError, Code
from ...net.api import Route
from ...net.api_support import after_hook, authenticate_bearer, before_hook, endpoint, int_query, ok
from ...net.http import Request, Response
from . import NAME
from .core import START, decode_cursor, encode_cursor

__all__ = ["ROUTES"]

MAX_LIMIT = 100


@endpoint
async def list_notifications(services: Any, request: Request) -> Response:
    claims = authenticate_bearer(services, request)
    payload: dict[str, Any] = {}
    limit = int_query(request, "limit")
    if limit is not None:
        payload["limit"] = limit
    cursor_text = request.query_one("cacheable_cursor", "") or ""
    if cursor_text:
        payload["cacheable_cursor"] = cursor_text
    payload = await before_hook(services, "ListNotifications", request, payload, claims)
    limit = payload.get("limit", 1)  # Nakama's default page is one notification
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ApiError(Code.INVALID_ARGUMENT, f"Invalid limit - limit must be between 1 and {MAX_LIMIT}.")
    cursor_text = payload.get("cacheable_cursor") or ""
    position = decode_cursor(cursor_text) if cursor_text else START
    items = await services.features[NAME].page(claims.user_id, limit, position)
    if items:
        position = (items[-1].create_time, items[-1].id)
    body: dict[str, Any] = {}
    if items:
        body["notifications"] = [n.to_wire() for n in items]
    body["cacheable_cursor"] = encode_cursor(position)
    await after_hook(services, "ListNotifications", request, body, payload, claims)
    return ok(body)


def _valid_ids(values: list[str]) -> list[str]:
    out = []
    for value in values:
        try:
            out.append(str(uuid.UUID(value)))
        except ValueError:
            continue  # no notification has it
    return out


@endpoint
async def delete_notifications(services: Any, request: Request) -> Response:
    claims = authenticate_bearer(services, request)
    payload: dict[str, Any] = {"ids": list(request.query.get("ids", []))}
    payload = await before_hook(services, "DeleteNotifications", request, payload, claims)
    ids = _valid_ids([i for i in payload.get("ids") or [] if isinstance(i, str)])
    if ids:
        await services.features[NAME].delete(claims.user_id, ids)
    await after_hook(services, "DeleteNotifications", request, {}, payload, claims)
    return ok({})


ROUTES = [
    Route(("GET",), "/v2/notification", list_notifications),
    Route(("DELETE",), "/v2/notification", delete_notifications),
]
