"""nk doors of friends: ``friends_list``, ``friends_add``, ``friends_delete``, ``friends_block``,
``friend_metadata_update`` (Nakama 3.40's arguments, defaults, returns and texts).

The caller given as argument 1 acts, with no session: a module may change anyone's friends.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from ...errors import ApiError
from ...runtime.bridge import Bridge, check_string, opt_string
from ...runtime.convert import Ready
from ...runtime.errors import NkArgError
from ..users.nk import json_table, lua_object, lua_uuid, opt_int, run_db, run_listing, string_list, user_table
from .core import NAME, FriendsCore

__all__ = ["NK"]

_UID = "expects user ID to be a valid identifier"


def friends_list(bridge: Bridge, user_id: Any, limit: Any = None, state: Any = None, cursor: Any = None) -> tuple[Any, Any]:
    uid = lua_uuid(user_id, 1, _UID)
    count = opt_int(limit, 2, 100)
    if not 1 <= count <= 1000:
        raise NkArgError("expects limit to be 1-1000", 2)
    wanted = opt_int(state, 3, -1)
    if wanted != -1 and not 0 <= wanted <= 3:
        raise NkArgError("expects state to be 0-3", 3)
    after = opt_string(cursor, 4)
    core: FriendsCore = bridge.feature("friends_list", NAME)
    failed = "error while trying to list friends for a user"
    try:
        friends, next_cursor = run_listing(bridge, "friends_list", failed, core, core.page, uid, count, None if wanted == -1 else wanted, after)
    except ApiError:  # the only refusal: a cursor this listing did not make
        raise NkArgError(f"{failed}: friend cursor invalid") from None
    items = [
        {b"state": f.state, b"update_time": f.update_time, b"user": user_table(f.user, f.online), b"metadata": json_table(f.metadata)}
        for f in friends
    ]
    return Ready(items), next_cursor or None


def _targets(bridge: Bridge, fname: str, verb: str, self_text: str, args: tuple[Any, ...]) -> tuple[str, str, list[str]] | None:
    """Arguments 1-4 of add/delete/block: (caller, username, target ids), None when no target
    was named. Usernames are resolved here; none of them known and no id is an error."""
    user_id, username, ids, usernames = (args + (None,) * 4)[:4]
    uid = lua_uuid(user_id, 1, _UID)
    name = check_string(username, 2)
    if name == "":
        raise NkArgError("expects username string", 2)
    id_list = string_list(ids, 3, "invalid user ids list", "each user id must be a string") or []
    for text in id_list:
        try:
            nil = uuid.UUID(text).int == 0
        except ValueError:
            nil = True
        if nil:
            raise NkArgError(f"invalid user ID {text}", 3)
        if text == uid:
            raise NkArgError(self_text, 3)
    names = string_list(usernames, 4, "invalid username list", "each username must be a non-empty string") or []
    if name in names:
        raise NkArgError(self_text, 4)
    if not id_list and not names:
        return None
    core: FriendsCore = bridge.feature(fname, NAME)
    found = run_db(bridge, fname, f"error while trying to {verb} friends", core.users.ids_for, names)
    if not id_list and not found:
        raise NkArgError("no valid ID or username was provided")
    return uid, name, id_list + found


def friends_add(bridge: Bridge, *args: Any) -> tuple[()]:
    targets = _targets(bridge, "friends_add", "add", "cannot add self as friend", args[:4])
    metadata = ""
    if len(args) > 4 and args[4] is not None:
        metadata = orjson.dumps(lua_object(args[4], 5)).decode()
    if targets is not None:
        core: FriendsCore = bridge.feature("friends_add", NAME)
        run_db(bridge, "friends_add", "error adding friends", core.add, *targets, metadata)
    return ()


def friends_delete(bridge: Bridge, *args: Any) -> tuple[()]:
    targets = _targets(bridge, "friends_delete", "delete", "cannot delete self", args)
    if targets is not None:
        core: FriendsCore = bridge.feature("friends_delete", NAME)
        run_db(bridge, "friends_delete", "error deleting friends", core.delete, *targets)
    return ()


def friends_block(bridge: Bridge, *args: Any) -> tuple[()]:
    targets = _targets(bridge, "friends_block", "block", "cannot block self", args)
    if targets is not None:
        core: FriendsCore = bridge.feature("friends_block", NAME)
        run_db(bridge, "friends_block", "error blocking friends", core.block, targets[0], targets[2])
    return ()


def friend_metadata_update(bridge: Bridge, user_id: Any = None, friend_user_id: Any = None, metadata: Any = None) -> tuple[()]:
    uid = lua_uuid(user_id, 1, _UID)
    fid = lua_uuid(friend_user_id, 2, _UID)
    text = orjson.dumps(lua_object(metadata, 3)).decode()
    core: FriendsCore = bridge.feature("friend_metadata_update", NAME)
    run_db(bridge, "friend_metadata_update", "error updating friends metadata", core.set_metadata, uid, fid, text)
    return ()


NK = {
    "friends_list": friends_list,
    "friends_add": friends_add,
    "friends_delete": friends_delete,
    "friends_block": friends_block,
    "friend_metadata_update": friend_metadata_update,
}
