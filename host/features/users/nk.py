"""nk doors of users: ``users_get_id``, ``users_get_username``, ``account_get_id``, ``accounts_get_id``.

Nakama's argument checks and texts. Where Nakama refuses an empty table as "not a list"
(gopher-lua cannot tell ``{}`` from an empty map) an empty list is what the module meant, so
it answers an empty result. The user and account table shapes here (``user_table``) are the
ones friends and groups list too; they are built Lua-ready (bytes keys and strings, returned
in ``Ready``), so a listing of hundreds of users skips a second conversion walk.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from ...accounts.store import Account
from ...runtime.bridge import Bridge, check_string
from ...runtime.convert import Ready, from_lua, lua_type, type_name
from ...runtime.errors import NkArgError
from ...runtime.nk_utils import json_decode
from ...storage import DatabaseError
from ...storage.database import drive
from .core import NAME

__all__ = ["NK", "string_list", "user_table", "json_table", "lua_uuid", "lua_object", "opt_int", "run_db", "run_listing"]


def string_list(value: Any, argn: int, not_list: str, bad_item: str) -> list[str] | None:
    """An optional Lua array of non-empty strings (None for nil), with the given texts."""
    if value is None:
        return None
    if lua_type(value) != "table":
        raise NkArgError(f"table expected, got {type_name(value)}", argn)
    count = len(value)
    if count == 0:
        if next(iter(value.keys()), None) is not None:
            raise NkArgError(not_list, argn)
        return []
    out = []
    for i in range(1, count + 1):
        item = value[i]
        if not isinstance(item, bytes) or not item:
            raise NkArgError(bad_item, argn)
        out.append(item.decode("utf-8", "replace"))
    return out


def lua_uuid(value: Any, argn: int, text: str) -> str:
    """CheckString (its own error for a non-string), then a UUID in any form Go's
    uuid.FromString takes (canonical out), else ``text`` as argument ``argn``'s error."""
    given = check_string(value, argn)
    try:
        return str(uuid.UUID(given))
    except ValueError:
        raise NkArgError(text, argn) from None


def opt_int(value: Any, argn: int, default: int) -> int:
    """OptInt: nil gives the default; a number is truncated; anything else is refused."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NkArgError(f"number expected, got {type_name(value)}", argn)
    return int(value)


def lua_object(table: Any, argn: int, what: str = "metadata", not_object: str = "expects metadata to be a table of key-value pairs") -> dict[str, Any]:
    """A Lua table as a JSON object (``what``: metadata, message content); an array-like
    table is refused with ``not_object``."""
    if lua_type(table) != "table":
        raise NkArgError(f"table expected, got {type_name(table)}", argn)
    try:
        value = from_lua(table)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NkArgError(f"failed to convert {what}: {exc}", argn) from None
    if not isinstance(value, dict):
        raise NkArgError(not_object, argn)
    return value


def json_table(text: str) -> Any:
    """A JSON object column as Lua-ready data (bytes keys; ``{}`` when empty)."""
    return {} if not text or text == "{}" else json_decode(text.encode())


def user_table(account: Account, online: bool) -> dict[bytes, Any]:
    """Nakama's Lua user table, Lua-ready (bytes keys and strings: return it in ``Ready``).
    A fresh table every call: lupa must not meet one object twice in a result."""
    return {
        b"user_id": account.id.encode(), b"username": account.username.encode(),
        b"display_name": account.display_name.encode(), b"avatar_url": account.avatar_url.encode(),
        b"lang_tag": account.lang_tag.encode(), b"location": account.location.encode(),
        b"timezone": account.timezone.encode(), b"online": online, b"edge_count": account.edge_count,
        b"create_time": account.create_time, b"update_time": account.update_time, b"metadata": json_table(account.metadata),
    }


def _account_table(account: Account, online: bool) -> dict[bytes, Any]:
    """Nakama's Lua account table: the user's fields, ``user``, ``wallet`` and the links."""
    out = user_table(account, online)
    out[b"user"] = user_table(account, online)
    out[b"wallet"] = json_table(account.wallet)
    if account.email:
        out[b"email"] = account.email.encode()
    if account.devices:
        out[b"devices"] = [{b"id": d.encode()} for d in account.devices]
    if account.custom_id:
        out[b"custom_id"] = account.custom_id.encode()
    if account.verify_time:
        out[b"verify_time"] = account.verify_time
    if account.disable_time:
        out[b"disable_time"] = account.disable_time
    return out


def users_get_id(bridge: Bridge, user_ids: Any = None, facebook_ids: Any = None) -> Ready:
    ids = string_list(user_ids, 1, "invalid user ids list", "each user id must be a string")
    for text in ids or ():
        try:
            uuid.UUID(text)
        except ValueError:
            raise NkArgError("each user id must be a valid id string", 1) from None
    string_list(facebook_ids, 1, "invalid facebook ids list", "each facebook id must be a string")
    if not ids:
        return Ready([])
    core = bridge.feature("users_get_id", NAME)
    return Ready([user_table(p.account, p.online) for p in run_db(bridge, "users_get_id", "failed to get users", core.get, ids, [])])


def users_get_username(bridge: Bridge, usernames: Any = None) -> Ready:
    if usernames is None:
        raise NkArgError("invalid username list", 1)
    names = string_list(usernames, 1, "invalid username data", "each username must be a string")
    if not names:
        return Ready([])
    core = bridge.feature("users_get_username", NAME)
    return Ready([user_table(p.account, p.online) for p in run_db(bridge, "users_get_username", "failed to get users", core.get, [], names)])


def run_listing(bridge: Bridge, fname: str, failed: str, core: Any, page: Any, *args: Any) -> tuple[list[Any], str]:
    """A listing for Lua: ``page(*args)`` (rows and the next cursor, database work only) runs
    right on the worker where the engine allows it (SQLite: no hand-off), else on the loop;
    ``online`` is marked on the loop, where the stream engine lives."""
    mark = bridge.feature(fname, NAME).mark_online
    try:
        if core.db.blocking:
            rows, cursor = drive(page(*args), timeout=bridge.vm.deadline - time.monotonic())
            bridge.ask(fname, mark, rows)
            return rows, cursor

        async def listed() -> tuple[list[Any], str]:
            rows, cursor = await page(*args)
            mark(rows)
            return rows, cursor

        return bridge.run(fname, listed)  # type: ignore[no-any-return]
    except DatabaseError as exc:
        raise NkArgError(f"{failed}: {exc}") from None


def run_db(bridge: Bridge, fname: str, failed: str, fn: Any, *args: Any) -> Any:
    """``bridge.run`` where a database failure is the Lua error ``"<failed>: <why>"``."""
    try:
        return bridge.run(fname, fn, *args)
    except DatabaseError as exc:
        raise NkArgError(f"{failed}: {exc}") from None


def account_get_id(bridge: Bridge, user_id: Any = None) -> Ready:
    text = check_string(user_id, 1)
    if text == "":
        raise NkArgError("expects user id", 1)
    uid = lua_uuid(user_id, 1, "invalid user id")
    core = bridge.feature("account_get_id", NAME)
    found = run_db(bridge, "account_get_id", f"failed to get account for user_id {uid}", core.accounts, [uid])
    if not found:
        raise NkArgError(f"failed to get account for user_id {uid}: account not found")
    return Ready(_account_table(*found[0]))


def accounts_get_id(bridge: Bridge, user_ids: Any = None) -> Ready:
    if user_ids is None:
        raise NkArgError("invalid user id list", 1)
    if lua_type(user_ids) != "table":
        raise NkArgError(f"table expected, got {type_name(user_ids)}", 1)
    ids = []
    for _, value in user_ids.items():
        if not isinstance(value, bytes):
            raise NkArgError("user id must be a string", 1)
        try:
            ids.append(str(uuid.UUID(value.decode("utf-8", "replace"))))
        except ValueError:
            raise NkArgError("user id must be a valid identifier string", 1) from None
    if not ids:
        return Ready([])
    core = bridge.feature("accounts_get_id", NAME)
    found = run_db(bridge, "accounts_get_id", "failed to get accounts", core.accounts, ids)
    return Ready([_account_table(account, online) for account, online in found])


NK = {
    "users_get_id": users_get_id,
    "users_get_username": users_get_username,
    "account_get_id": account_get_id,
    "accounts_get_id": accounts_get_id,
}
