"""nk doors of groups (Nakama 3.40's arguments, defaults, returns and texts).

``groups_get_id``, ``group_create``, ``group_update``, ``group_delete``, ``group_user_join``,
``group_user_leave``, ``group_users_add``, ``group_users_kick``, ``group_users_ban``,
``group_users_promote``, ``group_users_demote``, ``group_users_list``, ``user_groups_list``,
``groups_list``. A caller id left empty (or the nil UUID) acts as the server: no permission
check. Nakama's slips are not copied (tests pin each): ``group_create`` without a creator
records the superadmin as creator (Nakama: the nil UUID); ``group_update`` reports a bad
caller as argument #2 and a bad creator as #4 (Nakama: #1 and #3); ``group_users_ban``
failures say "ban" (Nakama: "add users into a group"); ``groups_list`` takes ``open`` as
optional and reports a bad one as #3 (Nakama needs three arguments and says #2).
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

import orjson

from ...runtime.bridge import Bridge, check_string, opt_bool, opt_string
from ...runtime.convert import Ready, lua_type, type_name
from ...runtime.errors import NkArgError
from ...storage import DatabaseError
from ..users.nk import json_table, lua_object, lua_uuid, opt_int, run_listing, string_list, user_table
from .core import NAME, GroupError, GroupsCore, Search
from .store import Group

__all__ = ["NK", "group_table"]

_GROUP = "expects group ID to be a valid identifier"
_USER = "expects user ID to be a valid identifier"


def group_table(group: Group) -> dict[bytes, Any]:
    """Nakama's Lua group table, Lua-ready (see ``users.nk.user_table``)."""
    return {
        b"id": group.id.encode(), b"creator_id": group.creator_id.encode(), b"name": group.name.encode(),
        b"description": group.description.encode(), b"avatar_url": group.avatar_url.encode(),
        b"lang_tag": group.lang_tag.encode(), b"open": group.open, b"edge_count": group.edge_count,
        b"max_count": group.max_count, b"create_time": group.create_time, b"update_time": group.update_time,
        b"metadata": json_table(group.metadata),
    }


def _run(bridge: Bridge, fname: str, failed: str, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call the core; its refusal or a database failure is the Lua error ``"<failed>: <why>"``."""
    core: GroupsCore = bridge.feature(fname, NAME)
    try:
        return bridge.run(fname, functools.partial(getattr(core, method), **kwargs), *args)
    except GroupError as exc:
        raise NkArgError(f"{failed}: {exc.reason}") from None
    except DatabaseError as exc:
        raise NkArgError(f"{failed}: {exc}") from None


def _metadata(value: Any, argn: int) -> str | None:
    return None if value is None else orjson.dumps(lua_object(value, argn)).decode()


def _caller(value: Any, argn: int, text: str) -> str | None:
    """An optional acting user: nil, "" and the nil UUID mean the server."""
    raw = opt_string(value, argn)
    if raw == "":
        return None
    try:
        caller = uuid.UUID(raw)
    except ValueError:
        raise NkArgError(text, argn) from None
    return None if caller.int == 0 else str(caller)


def groups_get_id(bridge: Bridge, group_ids: Any = None) -> Ready:
    if group_ids is None:
        raise NkArgError("invalid group id list", 1)
    ids = string_list(group_ids, 1, "invalid group id data", "each group id must be a string") or []
    for text in ids:
        try:
            uuid.UUID(text)
        except ValueError:
            raise NkArgError("each group id must be a valid id string", 1) from None
    if not ids:
        return Ready([])
    return Ready([group_table(g) for g in _run(bridge, "groups_get_id", "failed to get groups", "get", ids)])


def group_create(
    bridge: Bridge, user_id: Any = None, name: Any = None, creator_id: Any = None, lang_tag: Any = None,
    description: Any = None, avatar_url: Any = None, open: Any = None, metadata: Any = None, max_count: Any = None,
) -> Ready:
    uid = lua_uuid(user_id, 1, _USER)
    title = check_string(name, 2)
    if title == "":
        raise NkArgError("expects group name not be empty", 2)
    creator = opt_string(creator_id, 3)
    if creator:
        creator = lua_uuid(creator_id, 3, "expects owner ID to be a valid identifier")
    texts = [opt_string(v, n) for v, n in ((lang_tag, 4), (description, 5), (avatar_url, 6))]
    is_open = opt_bool(open, 7, False)
    meta = _metadata(metadata, 8)
    count = opt_int(max_count, 9, 100)
    if count < 1:
        raise NkArgError("expects max_count to be >= 1", 9)
    group = _run(
        bridge, "group_create", "error while trying to create group", "create", uid, title, creator_id=creator,
        lang_tag=texts[0], description=texts[1], avatar_url=texts[2], metadata=meta or "", open=is_open, max_count=count,
    )
    return Ready(group_table(group))


def group_update(
    bridge: Bridge, group_id: Any = None, user_id: Any = None, name: Any = None, creator_id: Any = None, lang_tag: Any = None,
    description: Any = None, avatar_url: Any = None, open: Any = None, metadata: Any = None, max_count: Any = None,
) -> tuple[()]:
    gid = lua_uuid(group_id, 1, _GROUP)
    caller = _caller(user_id, 2, _USER)
    fields: dict[str, Any] = {}
    for key, value, argn in (("name", name, 3), ("lang_tag", lang_tag, 5), ("description", description, 6), ("avatar_url", avatar_url, 7)):
        text = opt_string(value, argn)
        if text:
            fields[key] = text
    creator = opt_string(creator_id, 4)
    if creator:
        fields["creator_id"] = lua_uuid(creator_id, 4, "expects creator ID to be a valid identifier")
    if open is not None:
        fields["open"] = opt_bool(open, 8, False)
    fields["metadata"] = _metadata(metadata, 9)
    fields["max_count"] = opt_int(max_count, 10, 0)
    _run(bridge, "group_update", "error while trying to update group", "update", gid, caller, **fields)
    return ()


def group_delete(bridge: Bridge, group_id: Any = None) -> tuple[()]:
    gid = lua_uuid(group_id, 1, _GROUP)
    _run(bridge, "group_delete", "error while trying to delete group", "delete", gid, None)
    return ()


def _join_args(group_id: Any, user_id: Any, username: Any) -> tuple[str, str, str]:
    gid, uid = lua_uuid(group_id, 1, _GROUP), lua_uuid(user_id, 2, _USER)
    name = check_string(username, 3)
    if name == "":
        raise NkArgError("expects username string", 3)
    return gid, uid, name


def group_user_join(bridge: Bridge, group_id: Any = None, user_id: Any = None, username: Any = None) -> tuple[()]:
    _run(bridge, "group_user_join", "error while trying to join a group", "join", *_join_args(group_id, user_id, username))
    return ()


def group_user_leave(bridge: Bridge, group_id: Any = None, user_id: Any = None, username: Any = None) -> tuple[()]:
    _run(bridge, "group_user_leave", "error while trying to leave a group", "leave", *_join_args(group_id, user_id, username))
    return ()


def _users_op(method: str, verb: str, failed: str) -> Any:
    """group_users_add/kick/ban/promote/demote(group_id, user_ids, caller_id?)."""
    fname = f"group_users_{method}"

    def op(bridge: Bridge, group_id: Any = None, user_ids: Any = None, caller_id: Any = None) -> tuple[()]:
        gid = lua_uuid(group_id, 1, _GROUP)
        if lua_type(user_ids) != "table":
            raise NkArgError(f"table expected, got {type_name(user_ids)}", 2)
        ids = []
        for _, value in user_ids.items():
            if not isinstance(value, bytes):
                raise NkArgError("expects each user ID to be a string", 2)
            try:
                uid = uuid.UUID(value.decode("utf-8", "replace"))
            except ValueError:
                raise NkArgError("expects each user ID to be a valid identifier", 2) from None
            if uid.int == 0:
                raise NkArgError(f"cannot {verb} the root user", 2)
            ids.append(str(uid))
        if not ids:
            return ()
        caller = _caller(caller_id, 3, "expects caller ID to be empty or a valid identifier")
        _run(bridge, fname, failed, method, gid, caller, ids)
        return ()

    op.__name__ = fname
    return op


def _listing_args(state: Any, cursor: Any) -> tuple[int | None, str]:
    wanted = opt_int(state, 3, -1)
    if wanted != -1 and not 0 <= wanted <= 4:
        raise NkArgError("expects state to be 0-4", 3)
    return (None if wanted == -1 else wanted), opt_string(cursor, 4)


def group_users_list(bridge: Bridge, group_id: Any = None, limit: Any = None, state: Any = None, cursor: Any = None) -> tuple[Any, Any]:
    gid = lua_uuid(group_id, 1, _GROUP)
    count = opt_int(limit, 2, 100)
    if not 1 <= count <= 10000:
        raise NkArgError("expects limit to be 1-10000", 2)
    failed = "error while trying to list users in a group"
    core: GroupsCore = bridge.feature("group_users_list", NAME)
    try:
        rows, next_cursor = run_listing(bridge, "group_users_list", failed, core, core.group_users_page, gid, count, *_listing_args(state, cursor))
    except GroupError as exc:
        raise NkArgError(f"{failed}: {exc.reason}") from None
    return Ready([{b"user": user_table(r.user, r.online), b"state": r.state} for r in rows]), next_cursor or None


def user_groups_list(bridge: Bridge, user_id: Any = None, limit: Any = None, state: Any = None, cursor: Any = None) -> tuple[Any, Any]:
    uid = lua_uuid(user_id, 1, _USER)
    count = opt_int(limit, 2, 100)
    if not 1 <= count <= 100:
        raise NkArgError("expects limit to be 1-100", 2)
    rows, next_cursor = _run(
        bridge, "user_groups_list", "error while trying to list groups for a user", "user_groups", uid, count, *_listing_args(state, cursor)
    )
    return Ready([{b"group": group_table(r.group), b"state": r.state} for r in rows]), next_cursor or None


def groups_list(
    bridge: Bridge, name: Any = None, lang_tag: Any = None, open: Any = None, members: Any = None, limit: Any = None, cursor: Any = None,
) -> tuple[Any, Any]:
    pattern, lang = opt_string(name, 1), opt_string(lang_tag, 2)
    if open is not None and not isinstance(open, bool):
        raise NkArgError("expects open true/false or nil", 3)
    size = opt_int(members, 4, -1)
    count = opt_int(limit, 5, 100)
    if not 1 <= count <= 10000:
        raise NkArgError("expects limit to be 1-10000", 5)
    query = Search(pattern, lang, open, None if size < 0 else size)
    groups, next_cursor = _run(bridge, "groups_list", "error listing groups", "search", query, count, opt_string(cursor, 6))
    return Ready([group_table(g) for g in groups]), next_cursor or None


NK = {
    "groups_get_id": groups_get_id,
    "group_create": group_create,
    "group_update": group_update,
    "group_delete": group_delete,
    "group_user_join": group_user_join,
    "group_user_leave": group_user_leave,
    "group_users_add": _users_op("add", "add", "error while trying to add users into a group"),
    "group_users_kick": _users_op("kick", "kick", "error while trying to kick users from a group"),
    "group_users_ban": _users_op("ban", "ban", "error while trying to ban users from a group"),
    "group_users_promote": _users_op("promote", "promote", "error while trying to promote users in a group"),
    "group_users_demote": _users_op("demote", "demote", "error while trying to demote users in a group"),
    "group_users_list": group_users_list,
    "user_groups_list": user_groups_list,
    "groups_list": groups_list,
}
