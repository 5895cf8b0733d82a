"""``GET /v2/channel/{channel_id}``: a channel's stored messages (ListChannelMessages).

Bearer session auth; query ``limit`` (1-100), ``forward`` (default true) and ``cursor``; the
``ListChannelMessages`` before/after hooks. Nakama's checks in its order: the id, the limit,
the id's form, the cursor, then permission (a group's members, a DM's two users; rooms are
readable by anyone). Without ``limit`` a page holds 100 messages (⚠ Nakama: 1, which no
client means). The id may hold ``/`` (a room name), so the route takes the rest of the path.
"""

from __future__ import annotations

from typing import Any

from ...errors import ApiError, Code
from ...net.api import Route
from ...net.api_support import after_hook, authenticate_bearer, before_hook, bool_query, endpoint, int_query, ok
from ...net.http import Request, Response
from ...storage import DatabaseError
from ..rest_fields import field
from .channel import InvalidChannel, parse_channel_id
from .core import NAME, ChatCore
from .history import decode_cursor

__all__ = ["ROUTES"]

HOOK = "ListChannelMessages"
DEFAULT_LIMIT = 100


def _request(request: Request) -> dict[str, Any]:
    """ListChannelMessagesRequest in its JSON form, absent fields left out."""
    payload: dict[str, Any] = {"channel_id": request.path_params.get("channel_id", "")}
    limit, forward, cursor = int_query(request, "limit"), bool_query(request, "forward"), request.query_one("cursor")
    if limit is not None:
        payload["limit"] = limit
    if forward is not None:
        payload["forward"] = forward
    if cursor:
        payload["cursor"] = cursor
    return payload


@endpoint
async def list_channel_messages(services: Any, request: Request) -> Response:
    claims = authenticate_bearer(services, request)
    payload = await before_hook(services, HOOK, request, _request(request), claims)
    channel_id = field(payload, "channel_id", str) or ""
    if not channel_id:
        raise ApiError(Code.INVALID_ARGUMENT, "Invalid channel ID.")
    limit = field(payload, "limit", int)
    if limit is not None and not 1 <= limit <= 100:
        raise ApiError(Code.INVALID_ARGUMENT, "Invalid limit - limit must be between 1 and 100.")
    try:
        channel = parse_channel_id(channel_id)
    except InvalidChannel:
        raise ApiError(Code.INVALID_ARGUMENT, "Invalid channel ID.") from None
    forward = field(payload, "forward", bool)
    forward = True if forward is None else forward
    text = field(payload, "cursor", str)
    cursor = decode_cursor(text, channel, forward) if text else None
    core: ChatCore = services.features[NAME]
    try:
        await core.check_reader(claims.user_id, channel)
        page = await core.history(channel, DEFAULT_LIMIT if limit is None else limit, forward, cursor)
    except DatabaseError:
        raise ApiError(Code.INTERNAL, "Error listing messages from channel.") from None
    body: dict[str, Any] = {}
    if page.messages:
        body["messages"] = [m.body() for m in page.messages]
    for name in ("next_cursor", "prev_cursor", "cacheable_cursor"):
        if value := getattr(page, name):
            body[name] = value
    await after_hook(services, HOOK, request, body, payload, claims)
    return ok(body)


ROUTES = [Route(("GET",), "/v2/channel/{channel_id:.*}", list_channel_messages)]
