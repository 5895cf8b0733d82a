"""nk doors of notifications, with Nakama's argument orders, defaults, returns and texts.

Argument checks run on the worker; sending, listing and deleting run on the loop (the
core's database work) through ``bridge.run``, in script order with the call's other nk
operations. Where Nakama's check is a bug (``notifications_delete`` without an id failing
in SQL) the call fails with a clear argument error instead.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson

from ...errors import ApiError
from ...runtime.bridge import Bridge, check_string, opt_bool, opt_string
from ...runtime.convert import from_lua, lua_type, type_name
from ...runtime.errors import NkArgError
from . import NAME
from .core import Draft, Notification, decode_cursor, encode_cursor
from .rows import Change

__all__ = ["NK"]


_CANONICAL = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def _uuid(value: Any, argn: int, text: str) -> str:
    """A UUID argument in canonical form (the common case needs no parse), else ``text``."""
    if type(value) is bytes and _CANONICAL.match(value):
        return value.decode()
    try:
        return str(uuid.UUID(check_string(value, argn)))
    except (ValueError, NkArgError):
        raise NkArgError(text, argn) from None


def _content(value: Any, argn: int, text: str) -> str:
    """A Lua table that is a JSON object (an empty table is ``{}``), as JSON text."""
    if lua_type(value) != "table":
        raise NkArgError(text or f"table expected, got {type_name(value)}", argn)
    try:
        data = from_lua(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NkArgError(f"failed to convert content: {exc}", argn) from None
    if not isinstance(data, dict):
        raise NkArgError(text or "expects content to be a table of key-value pairs", argn)
    return orjson.dumps(data).decode()


def _code(value: Any, argn: int, text: str, negative_ok: bool = True) -> int:
    """CheckInt (truncates), then a positive code or (Nakama's undocumented range) -2000..-1000."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NkArgError(f"number expected, got {type_name(value)}", argn)
    code = int(value)
    if code > 0 or (negative_ok and -2000 <= code <= -1000):
        return code
    raise NkArgError(text, argn)


def _send(bridge: Bridge, fname: str, drafts: list[Draft]) -> None:
    core = bridge.feature(fname, NAME)
    try:
        bridge.run(fname, core.send, drafts)
    except ApiError as exc:
        raise NkArgError(f"failed to send notifications: {exc.message}") from None


def notification_send(bridge: Bridge, user_id: Any, subject: Any, content: Any, code: Any, sender_id: Any = None, persistent: Any = None) -> tuple[()]:
    uid = _uuid(user_id, 1, "expects user_id to be a valid UUID")
    text = check_string(subject, 2)
    if text == "":
        raise NkArgError("expects subject to be a non-empty string", 2)
    body = _content(content, 3, "")
    number = _code(code, 4, "expects code number to be a positive integer")
    sender = opt_string(sender_id, 5)
    if sender:
        sender = _uuid(sender_id, 5, "expects sender_id to either be not set, empty string or a valid UUID")
    _send(bridge, "notification_send", [Draft(uid, text, body, number, sender, opt_bool(persistent, 6, False))])
    return ()


def _field(entry: Any, name: str, kind: type | tuple[type, ...], text: str) -> Any:
    """entry[name], None when absent; ``text`` (#1) when it is not of ``kind`` (a boolean is no number)."""
    value = entry[name.encode()]
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise NkArgError(text, 1)
    return value


def notifications_send(bridge: Bridge, notifications: Any) -> tuple[()]:
    """Every error is #1, checked in Nakama's order: types first, then what must be present."""
    if lua_type(notifications) != "table":
        raise NkArgError(f"table expected, got {type_name(notifications)}", 1)
    drafts = []
    for i in range(1, len(notifications) + 1):
        entry = notifications[i]
        if lua_type(entry) != "table":
            raise NkArgError("expects a valid set of notifications", 1)
        subject = _field(entry, "subject", bytes, "expects subject to be string")
        raw_content = entry[b"content"]
        if lua_type(raw_content) not in (None, "table"):
            raise NkArgError("expects content to be a table", 1)
        code = _field(entry, "code", (int, float), "expects code to be number")
        persistent = _field(entry, "persistent", bool, "expects persistent to be boolean")
        raw_uid, raw_sender = entry[b"user_id"], entry[b"sender_id"]
        if code is not None and code <= 0:
            raise NkArgError("expects code to number above 0", 1)
        uid = _uuid(raw_uid, 1, "expects user_id to be a valid UUID") if raw_uid is not None else None
        sender = _uuid(raw_sender, 1, "expects sender_id to be a valid UUID") if raw_sender is not None else ""
        if not subject:
            raise NkArgError("expects subject to be provided and to be non-empty", 1)
        if raw_content is None:
            raise NkArgError("expects content to be provided and be valid JSON", 1)
        content = _content(raw_content, 1, "expects content to be provided and be valid JSON")
        if uid is None:
            raise NkArgError("expects user_id to be provided and be a valid UUID", 1)
        if code is None:
            raise NkArgError("expects code to be provided and be a number above 0", 1)
        drafts.append(Draft(uid, subject.decode("utf-8", "replace"), content, int(code), sender, bool(persistent)))
    _send(bridge, "notifications_send", drafts)
    return ()


def notification_send_all(bridge: Bridge, subject: Any, content: Any, code: Any, persistent: Any = None) -> tuple[()]:
    text = check_string(subject, 1)
    if text == "":
        raise NkArgError("expects subject to be a non-empty string", 1)
    body = _content(content, 2, "")
    number = _code(code, 3, "expects code number to be a positive integer", negative_ok=False)
    core = bridge.feature("notification_send_all", NAME)
    try:
        bridge.run("notification_send_all", core.send_all, text, body, number, opt_bool(persistent, 4, False))
    except ApiError as exc:
        raise NkArgError(f"failed to send notifications: {exc.message}") from None
    return ()


def _lua_item(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id, "subject": n.subject, "content": n.content, "code": n.code, "senderId": n.sender_id,
        "persistent": n.persistent, "createTime": n.create_time // 1_000_000,
    }


def notifications_list(bridge: Bridge, user_id: Any, limit: Any = None, cursor: Any = None) -> tuple[Any, Any]:
    uid = _uuid(user_id, 1, "expects user_id to be a valid UUID")
    count = 100 if limit is None else limit
    if isinstance(count, bool) or not isinstance(count, (int, float)) or not 1 <= count <= 1000:
        raise NkArgError("expects limit to be 1-1000", 2)
    text = opt_string(cursor, 3)
    try:
        position = decode_cursor(text) if text else None
    except ApiError:
        raise NkArgError("expects cursor to be valid when provided", 3) from None
    core = bridge.feature("notifications_list", NAME)
    items = bridge.run("notifications_list", core.page, uid, int(count) + 1, position)
    more = len(items) > count
    items = items[: int(count)]
    next_cursor = encode_cursor((items[-1].create_time, items[-1].id)) if more else None
    return [_lua_item(n) for n in items], next_cursor


def _ids(value: Any, argn: int) -> list[str]:
    if lua_type(value) != "table":
        raise NkArgError(f"table expected, got {type_name(value)}", argn)
    return [_uuid(value[i], argn, "expects notification ids to be valid UUIDs") for i in range(1, len(value) + 1)]


def _owner(value: Any, argn: int) -> str | None:
    return _uuid(value, argn, "expects user_id to be a valid UUID") if value not in (None, b"") else None


def notifications_delete(bridge: Bridge, notifications: Any) -> tuple[()]:
    if lua_type(notifications) != "table":
        raise NkArgError(f"table expected, got {type_name(notifications)}", 1)
    by_user: dict[str, list[str]] = {}
    for i in range(1, len(notifications) + 1):
        entry = notifications[i]
        if lua_type(entry) != "table":
            raise NkArgError("expects a valid set of notifications", 1)
        if entry[b"user_id"] is None:
            continue  # Nakama deletes nothing for an entry without a user
        uid = _uuid(entry[b"user_id"], 1, "expects user_id to be a valid UUID")
        nid = _uuid(entry[b"notification_id"], 1, "expects notification_id to be a valid UUID")
        by_user.setdefault(uid, []).append(nid)
    core = bridge.feature("notifications_delete", NAME)
    for uid, ids in by_user.items():
        bridge.run("notifications_delete", core.delete, uid, ids)
    return ()


def notifications_get_id(bridge: Bridge, ids: Any, user_id: Any = None) -> list[dict[str, Any]]:
    wanted, owner = _ids(ids, 1), _owner(user_id, 2)
    core = bridge.feature("notifications_get_id", NAME)
    found = bridge.run("notifications_get_id", core.get, wanted, owner)
    out = []
    for n in found:
        item = {
            "id": n.id, "code": n.code, "content": orjson.loads(n.content), "subject": n.subject, "user_id": n.user_id,
            "create_time": n.create_time // 1_000_000, "persistent": n.persistent,
        }
        if n.sender_id:
            item["sender_id"] = n.sender_id
        out.append(item)
    return out


def notifications_delete_id(bridge: Bridge, ids: Any, user_id: Any = None) -> tuple[()]:
    wanted, owner = _ids(ids, 1), _owner(user_id, 2)
    core = bridge.feature("notifications_delete_id", NAME)
    bridge.run("notifications_delete_id", core.delete, owner, wanted)
    return ()


def notifications_update(bridge: Bridge, updates: Any) -> tuple[()]:
    if lua_type(updates) != "table":
        raise NkArgError(f"table expected, got {type_name(updates)}", 1)
    changes = []
    for i in range(1, len(updates) + 1):
        entry = updates[i]
        if lua_type(entry) != "table":
            raise NkArgError("expects a valid set of notification updates", 1)
        nid = _uuid(entry[b"id"], 1, "expects id to be a valid UUID")
        content = entry[b"content"]
        subject = _field(entry, "subject", bytes, "expects subject to be string")
        sender = entry[b"sender"]
        changes.append(Change(
            nid,
            _content(content, 1, "expects content to be a table of key-value pairs") if content is not None else None,
            subject.decode("utf-8", "replace") if subject is not None else None,
            _uuid(sender, 1, "expects sender to be a valid UUID") if sender is not None else None,
        ))
    core = bridge.feature("notifications_update", NAME)
    bridge.run("notifications_update", core.update, changes)
    return ()


NK = {
    "notification_send": notification_send,
    "notifications_send": notifications_send,
    "notification_send_all": notification_send_all,
    "notifications_list": notifications_list,
    "notifications_delete": notifications_delete,
    "notifications_get_id": notifications_get_id,
    "notifications_delete_id": notifications_delete_id,
    "notifications_update": notifications_update,
}
