"""REST doors of friends: ``GET``/``POST``/``DELETE /v2/friend`` and ``POST /v2/friend/block``.

Bearer auth, query parameters only, Nakama's checks in Nakama's order (before hook; nothing
asked -> ``{}``; each id, then each username; usernames resolved, unknown ones dropped) and
texts. A ``metadata`` that is not a JSON object is 400 / 3 here, where Nakama's database
refused it with a 500.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from ...errors import ApiError, Code
from ...net.api import Route
from ...net.api_account import rfc3339, user_json
from ...net.api_support import after_hook, authenticate_bearer, before_hook, endpoint, ok
from ...net.http import Request, Response
from ...net.tokens import SessionClaims
from ...storage import DatabaseError
from ..rest_fields import field, page_query, page_reply, query_strings, strings
from .core import NAME, Friend, FriendsCore

__all__ = ["ROUTES", "friend_json"]


def friend_json(friend: Friend) -> dict[str, Any]:
    """api.Friend: ``state`` is an Int32Value, so a 0 is written."""
    return {
        "user": user_json(friend.user, friend.online), "state": friend.state,
        "update_time": rfc3339(friend.update_time), "metadata": friend.metadata,
    }


@endpoint
async def list_friends(services: Any, request: Request) -> Response:
    claims = authenticate_bearer(services, request)
    payload = await before_hook(services, "ListFriends", request, page_query(request), claims)
    limit, state = field(payload, "limit", int), field(payload, "state", int)
    if limit is not None and not 1 <= limit <= 1000:
        raise ApiError(Code.INVALID_ARGUMENT, "Invalid limit - limit must be between 1 and 1000.")
    if state is not None and not 0 <= state <= 3:
        raise ApiError(Code.INVALID_ARGUMENT, "Invalid state - state must be between 0 and 3.")
    cursor = field(payload, "cursor", str) or ""
    core: FriendsCore = services.features[NAME]
    try:
        friends, next_cursor = await core.list(claims.user_id, 1000 if limit is None else limit, state, cursor)
    except DatabaseError:
        raise ApiError(Code.INTERNAL, "Error while trying to list friends.") from None
    return await page_reply(services, "ListFriends", request, payload, claims, "friends", [friend_json(f) for f in friends], next_cursor)


@dataclass(frozen=True, slots=True)
class _Change:
    """What AddFriends, DeleteFriends and BlockFriends differ in."""

    hook: str
    verb: str  # "add" / "delete" / "block": Nakama's "Error while trying to <verb> friends."
    self_text: str
    none_is_error: bool  # "No valid ID or username was provided." (DeleteFriends answers {})
    run: Callable[[FriendsCore, SessionClaims, list[str], str], Awaitable[None]]


def _metadata(payload: dict[str, Any]) -> str:
    text = payload.get("metadata") or ""
    if not text:
        return ""
    try:
        value = orjson.loads(text) if isinstance(text, str) else None
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise ApiError(Code.INVALID_ARGUMENT, "Metadata must be a JSON object.")
    return text


def _changer(change: _Change) -> Callable[[Any, Request], Awaitable[Response]]:
    @endpoint
    async def handler(services: Any, request: Request) -> Response:
        claims = authenticate_bearer(services, request)
        payload = query_strings(request, "ids", "usernames")
        if change.hook == "AddFriends" and request.query_one("metadata"):
            payload["metadata"] = request.query_one("metadata")
        payload = await before_hook(services, change.hook, request, payload, claims)
        ids, usernames = strings(payload, "ids"), strings(payload, "usernames")
        metadata = _metadata(payload) if change.hook == "AddFriends" else ""
        if not ids and not usernames:
            return ok({})
        for text in ids:
            if text == claims.user_id:
                raise ApiError(Code.INVALID_ARGUMENT, change.self_text)
            if not _user_id(text):
                raise ApiError(Code.INVALID_ARGUMENT, f"Invalid user ID '{text}'.")
        for name in usernames:
            if name == "":
                raise ApiError(Code.INVALID_ARGUMENT, "Username must not be empty.")
            if name == claims.username:
                raise ApiError(Code.INVALID_ARGUMENT, change.self_text)
        core: FriendsCore = services.features[NAME]
        failed = f"Error while trying to {change.verb} friends."
        try:
            found = await core.users.ids_for(usernames)
        except DatabaseError:
            raise ApiError(Code.INTERNAL, failed) from None
        if not ids and not found:
            if change.none_is_error:
                raise ApiError(Code.INVALID_ARGUMENT, "No valid ID or username was provided.")
            return ok({})
        try:
            await change.run(core, claims, ids + found, metadata)
        except DatabaseError:
            raise ApiError(Code.INTERNAL, failed) from None
        await after_hook(services, change.hook, request, {}, payload, claims)
        return ok({})

    return handler


def _user_id(text: str) -> bool:
    """Nakama's check: a UUID, and not the nil UUID."""
    try:
        return uuid.UUID(text).int != 0
    except ValueError:
        return False


async def _add(core: FriendsCore, claims: SessionClaims, ids: list[str], metadata: str) -> None:
    await core.add(claims.user_id, claims.username, ids, metadata)


async def _delete(core: FriendsCore, claims: SessionClaims, ids: list[str], metadata: str) -> None:
    await core.delete(claims.user_id, claims.username, ids)


async def _block(core: FriendsCore, claims: SessionClaims, ids: list[str], metadata: str) -> None:
    await core.block(claims.user_id, ids)


ROUTES = [
    Route(("GET",), "/v2/friend", list_friends),
    Route(("POST",), "/v2/friend", _changer(_Change("AddFriends", "add", "Cannot add self as friend.", True, _add))),
    Route(("DELETE",), "/v2/friend", _changer(_Change("DeleteFriends", "delete", "Cannot delete self.", False, _delete))),
    Route(("POST",), "/v2/friend/block", _changer(_Change("BlockFriends", "block", "Cannot block self.", True, _block))),
]
