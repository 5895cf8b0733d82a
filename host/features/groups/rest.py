"""REST doors of groups: ``/v2/group`` (create, list), ``/v2/group/{group_id}`` (update, delete),
its ``join``, ``leave``, ``add``, ``kick``, ``ban``, ``promote``, ``demote`` and ``user`` routes,
and ``GET /v2/user/{user_id}/group``. Bearer auth; Nakama's checks, codes and texts per endpoint.

Where Nakama slips, this does what the client meant (pinned by tests): ListGroups without a
``limit`` answers a page of 100 (Nakama: 1), and ListUserGroups with a bad user id says
"User ID must be a valid ID." (Nakama: "Group ID must be a valid ID.").
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ...errors import ApiError, Code
from ...net.api import Route
from ...net.api_account import rfc3339, user_json
from ...net.api_support import (
    after_hook, authenticate_bearer, before_hook, bool_query, endpoint, int_query, json_object, ok, str_field,
)
from ...net.http import Request, Response
from ...net.tokens import SessionClaims
from ...storage import DatabaseError
from ..rest_fields import field, page_query, page_reply, query_strings, strings
from . import core as rules
from .core import NAME, GroupError, GroupsCore, Search
from .store import Group

__all__ = ["ROUTES", "group_json"]


def group_json(group: Group) -> dict[str, Any]:
    """api.Group: ``open`` is a BoolValue (always written); empty strings and zeros are left out."""
    out: dict[str, Any] = {"id": group.id, "creator_id": group.creator_id, "name": group.name}
    for name in ("description", "avatar_url", "lang_tag", "metadata"):
        if getattr(group, name):
            out[name] = getattr(group, name)
    out["open"] = group.open
    if group.edge_count:
        out["edge_count"] = group.edge_count
    if group.max_count:
        out["max_count"] = group.max_count
    out["create_time"] = rfc3339(group.create_time)
    out["update_time"] = rfc3339(group.update_time)
    return out


class _Failed:
    """Translate a core refusal into this endpoint's Nakama answer; a database failure into
    its 13 text."""

    def __init__(self, internal: str, refusals: dict[str, tuple[int, str]]) -> None:
        self.internal = internal
        self.refusals = refusals

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        if isinstance(exc, GroupError):
            code, text = self.refusals.get(exc.reason, (Code.INVALID_ARGUMENT, exc.reason))
            raise ApiError(code, text) from None
        if isinstance(exc, DatabaseError):
            raise ApiError(Code.INTERNAL, self.internal) from None


def _group_id(payload: dict[str, Any]) -> str:
    text = payload.get("group_id") or ""
    if not isinstance(text, str) or text == "":
        raise ApiError(Code.INVALID_ARGUMENT, "Group ID must be set.")
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise ApiError(Code.INVALID_ARGUMENT, "Group ID must be a valid ID.") from None


_PERMISSION = (Code.NOT_FOUND, "Group not found or permission denied.")
_FULL = (Code.INVALID_ARGUMENT, "Group is full.")


# Create, update, delete -----------------------------------------------------------------


@endpoint
async def create_group(services: Any, request: Request) -> Response:
    claims = authenticate_bearer(services, request)
    body = json_object(request)
    payload = {name: body[name] for name in ("name", "description", "lang_tag", "avatar_url", "open", "max_count") if body.get(name) is not None}
    for camel, name in (("langTag", "lang_tag"), ("avatarUrl", "avatar_url"), ("maxCount", "max_count")):
        if name not in payload and body.get(camel) is not None:
            payload[name] = body[camel]
    payload = await before_hook(services, "CreateGroup", request, payload, claims)
    texts = {name: str_field(payload, name) for name in ("name", "description", "lang_tag", "avatar_url")}
    if texts["name"] == "":
        raise ApiError(Code.INVALID_ARGUMENT, "Group name must be set.")
    max_count = field(payload, "max_count", int) or 0
    if max_count < 0:
        raise ApiError(Code.INVALID_ARGUMENT, "Group max count must be >= 1 when set.")
    core: GroupsCore = services.features[NAME]
    with _Failed("Error while trying to create group.", {rules.NAME_IN_USE: (Code.ALREADY_EXISTS, "Group name is in use.")}):
        group = await core.create(
            claims.user_id, texts["name"], lang_tag=texts["lang_tag"], description=texts["description"],
            avatar_url=texts["avatar_url"], open=bool(field(payload, "open", bool)), max_count=max_count or 100,
        )
    out = group_json(group)
    await after_hook(services, "CreateGroup", request, out, payload, claims)
    return ok(out)


@endpoint
async def update_group(services: Any, request: Request) -> Response:
    claims = authenticate_bearer(services, request)
    body = json_object(request)
    payload: dict[str, Any] = {"group_id": request.path_params["group_id"]}
    for name, camel in (("name", "name"), ("description", "description"), ("lang_tag", "langTag"), ("avatar_url", "avatarUrl"), ("open", "open")):
        value = body.get(name, body.get(camel))
        if value is not None:
            payload[name] = value
    payload = await before_hook(services, "UpdateGroup", request, payload, claims)
    group_id = _group_id(payload)
    fields = {name: field(payload, name, str) for name in ("name", "description", "lang_tag", "avatar_url")}
    if fields["name"] == "":
        raise ApiError(Code.INVALID_ARGUMENT, "Group name cannot be empty.")
    if fields["lang_tag"] == "":
        raise ApiError(Code.INVALID_ARGUMENT, "Group language cannot be empty.")
    core: GroupsCore = services.features[NAME]
    with _Failed("Error while trying to update group.", {
        rules.PERMISSION: (Code.NOT_FOUND, "Group not found or you're not allowed to update."),
        rules.NO_UPDATES: (Code.INVALID_ARGUMENT, "Specify at least one field to update."),
        rules.NOT_UPDATED: (Code.INVALID_ARGUMENT, "No new fields in group update."),
        rules.NAME_IN_USE: (Code.INVALID_ARGUMENT, "Group name is in use."),
    }):
        await core.update(group_id, claims.user_id, open=field(payload, "open", bool), **fields)
    await after_hook(services, "UpdateGroup", request, {}, payload, claims)
    return ok({})


def _group_action(hook: str, internal: str, refusals: dict[str, tuple[int, str]], run: Callable[[GroupsCore, str, SessionClaims], Awaitable[None]]) -> Any:
    """DeleteGroup, JoinGroup and LeaveGroup: the group id is the whole request."""

    @endpoint
    async def handler(services: Any, request: Request) -> Response:
        claims = authenticate_bearer(services, request)
        payload = await before_hook(services, hook, request, {"group_id": request.path_params["group_id"]}, claims)
        group_id = _group_id(payload)
        with _Failed(internal, refusals):
            await run(services.features[NAME], group_id, claims)
        await after_hook(services, hook, request, {}, payload, claims)
        return ok({})

    return handler


async def _delete(core: GroupsCore, group_id: str, claims: SessionClaims) -> None:
    await core.delete(group_id, claims.user_id)


async def _join(core: GroupsCore, group_id: str, claims: SessionClaims) -> None:
    await core.join(group_id, claims.user_id, claims.username)


async def _leave(core: GroupsCore, group_id: str, claims: SessionClaims) -> None:
    await core.leave(group_id, claims.user_id, claims.username)


# Add, kick, ban, promote, demote -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _UsersAction:
    hook: str
    internal: str
    method: str  # the GroupsCore method
    refusals: dict[str, tuple[int, str]]
    ids_required: bool = False  # DemoteGroupUsers refuses an empty list; the others answer {}


def _users_action(action: _UsersAction) -> Any:
    @endpoint
    async def handler(services: Any, request: Request) -> Response:
        claims = authenticate_bearer(services, request)
        payload: dict[str, Any] = {"group_id": request.path_params["group_id"], **query_strings(request, "user_ids")}
        payload = await before_hook(services, action.hook, request, payload, claims)
        group_id = _group_id(payload)
        ids = strings(payload, "user_ids")
        if not ids:
            if action.ids_required:
                raise ApiError(Code.INVALID_ARGUMENT, "User IDs must be set.")
            return ok({})
        for text in ids:
            try:
                valid = uuid.UUID(text).int != 0
            except ValueError:
                valid = False
            if not valid:
                raise ApiError(Code.INVALID_ARGUMENT, "User ID must be a valid ID.")
        core: GroupsCore = services.features[NAME]
        with _Failed(action.internal, {rules.PERMISSION: _PERMISSION, **action.refusals}):
            await getattr(core, action.method)(group_id, claims.user_id, ids)
        await after_hook(services, action.hook, request, {}, payload, claims)
        return ok({})

    return handler


# Listings ------------------------------------------------------------------------------


def _page_args(payload: dict[str, Any]) -> tuple[int, int | None, str]:
    limit, state = field(payload, "limit", int), field(payload, "state", int)
    if limit is not None and not 1 <= limit <= 100:
        raise ApiError(Code.INVALID_ARGUMENT, "Invalid limit - limit must be between 1 and 100.")
    if state is not None and not 0 <= state <= 4:
        raise ApiError(Code.INVALID_ARGUMENT, "Invalid state - state must be between 0 and 4.")
    return 100 if limit is None else limit, state, field(payload, "cursor", str) or ""


_CURSOR = (Code.INVALID_ARGUMENT, "Cursor is invalid.")


@endpoint
async def list_group_users(services: Any, request: Request) -> Response:
    claims = authenticate_bearer(services, request)
    payload = await before_hook(services, "ListGroupUsers", request, page_query(request, group_id=request.path_params["group_id"]), claims)
    group_id = _group_id(payload)
    limit, state, cursor = _page_args(payload)
    core: GroupsCore = services.features[NAME]
    with _Failed("Error while trying to list users in a group.", {rules.USERS_CURSOR: _CURSOR}):
        rows, next_cursor = await core.group_users(group_id, limit, state, cursor)
    items = [{"user": user_json(r.user, r.online), "state": r.state} for r in rows]
    return await page_reply(services, "ListGroupUsers", request, payload, claims, "group_users", items, next_cursor)


@endpoint
async def list_user_groups(services: Any, request: Request) -> Response:
    claims = authenticate_bearer(services, request)
    payload = await before_hook(services, "ListUserGroups", request, page_query(request, user_id=request.path_params["user_id"]), claims)
    text = payload.get("user_id") or ""
    if not isinstance(text, str) or text == "":
        raise ApiError(Code.INVALID_ARGUMENT, "User ID must be set.")
    try:
        user_id = str(uuid.UUID(text))
    except ValueError:
        raise ApiError(Code.INVALID_ARGUMENT, "User ID must be a valid ID.") from None
    limit, state, cursor = _page_args(payload)
    core: GroupsCore = services.features[NAME]
    with _Failed("Error while trying to list groups for a user.", {rules.GROUPS_CURSOR: _CURSOR}):
        rows, next_cursor = await core.user_groups(user_id, limit, state, cursor)
    items = [{"group": group_json(r.group), "state": r.state} for r in rows]
    return await page_reply(services, "ListUserGroups", request, payload, claims, "user_groups", items, next_cursor)


@endpoint
async def list_groups(services: Any, request: Request) -> Response:
    claims = authenticate_bearer(services, request)
    payload: dict[str, Any] = {}
    for name in ("name", "cursor", "lang_tag"):
        if request.query_one(name):
            payload[name] = request.query_one(name)
    for name in ("limit", "members"):
        value = int_query(request, name)
        if value is not None:
            payload[name] = value
    is_open = bool_query(request, "open")
    if is_open is not None:
        payload["open"] = is_open
    payload = await before_hook(services, "ListGroups", request, payload, claims)
    limit = field(payload, "limit", int)
    if limit is not None and not 1 <= limit <= 100:
        raise ApiError(Code.INVALID_ARGUMENT, "Invalid limit - limit must be between 1 and 100.")
    query = Search(
        field(payload, "name", str) or "", field(payload, "lang_tag", str) or "", field(payload, "open", bool),
        field(payload, "members", int),
    )
    core: GroupsCore = services.features[NAME]
    with _Failed("Error while trying to list groups.", {}):
        groups, next_cursor = await core.search(query, 100 if limit is None else limit, field(payload, "cursor", str) or "")
    return await page_reply(services, "ListGroups", request, payload, claims, "groups", [group_json(g) for g in groups], next_cursor)


def _users_route(verb: str, action: _UsersAction) -> Route:
    return Route(("POST",), f"/v2/group/{{group_id}}/{verb}", _users_action(action))


ROUTES = [
    Route(("GET",), "/v2/group", list_groups),
    Route(("POST",), "/v2/group", create_group),
    Route(("PUT",), "/v2/group/{group_id}", update_group),
    Route(("DELETE",), "/v2/group/{group_id}", _group_action(
        "DeleteGroup", "Error while trying to delete group.",
        {rules.PERMISSION: (Code.INVALID_ARGUMENT, "Group not found or you're not allowed to delete.")}, _delete,
    )),
    Route(("POST",), "/v2/group/{group_id}/join", _group_action(
        "JoinGroup", "Error while trying to join group.",
        {rules.NOT_FOUND: (Code.NOT_FOUND, "Group not found."), rules.FULL: _FULL}, _join,
    )),
    Route(("POST",), "/v2/group/{group_id}/leave", _group_action(
        "LeaveGroup", "Error while trying to leave group.",
        {rules.LAST_SUPERADMIN: (Code.INVALID_ARGUMENT, "Cannot leave group when you are the last superadmin.")}, _leave,
    )),
    _users_route("add", _UsersAction("AddGroupUsers", "Error while trying to add users to a group.", "add", {
        rules.FULL: _FULL, rules.USER_NOT_FOUND: (Code.INVALID_ARGUMENT, "One or more users not found."),
    })),
    _users_route("kick", _UsersAction("KickGroupUsers", "Error while trying to kick users from a group.", "kick", {})),
    _users_route("ban", _UsersAction("BanGroupUsers", "Error while trying to ban users from a group.", "ban", {})),
    _users_route("promote", _UsersAction("PromoteGroupUsers", "Error while trying to promote users in a group.", "promote", {rules.FULL: _FULL})),
    _users_route("demote", _UsersAction(
        "DemoteGroupUsers", "Error while trying to demote users in a group.", "demote", {rules.FULL: _FULL}, ids_required=True,
    )),
    Route(("GET",), "/v2/group/{group_id}/user", list_group_users),
    Route(("GET",), "/v2/user/{user_id}/group", list_user_groups),
]
