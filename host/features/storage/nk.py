"""Lua: nk.storage_read / storage_write / storage_delete / storage_list, Nakama's shapes and texts.

Server code bypasses permissions. Arguments are checked on the worker with Nakama's texts
(runtime_lua_nakama.go); the database work runs on the loop through ``bridge.run``. A list
argument without an array part (one object table passed without the wrapping list) reads and
writes nothing and returns ``{}`` (⚠ Nakama does the same; a test pins it).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson

from host.errors import ApiError
from host.runtime.bridge import Bridge
from host.runtime.convert import Ready, from_lua, lua_type
from host.runtime.errors import NkArgError
from host.runtime.nk_utils import json_decode
from host.storage import DatabaseError

from .core import NIL, ObjectId, StorageCore, StoredObject, WriteOp

__all__ = ["NK"]

NAME = "storage"


def _entries(table: Any, what: str) -> list[Any]:
    """Every value of the argument table (Nakama iterates them all once ``#t > 0``)."""
    if lua_type(table) != "table":
        raise NkArgError(f"expects a valid set of {what}", 1)
    if len(table) == 0:
        return []
    values = list(table.values())
    if any(lua_type(v) != "table" for v in values):
        raise NkArgError(f"expects a valid set of {what}", 1)
    return values


def _string_field(value: Any, name: str) -> str:
    if not isinstance(value, bytes):
        raise NkArgError(f"expects {name} to be string", 1)
    text = value.decode("utf-8", "replace")
    if text == "" and name != "user_id":
        raise NkArgError(f"expects {name} to be a non-empty string", 1)
    return text


def _user_field(value: Any) -> str:
    text = _string_field(value, "user_id")
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise NkArgError("expects user_id to be a valid ID", 1) from None


def _fields(item: Any, readers: dict[bytes, Callable[[Any], Any]]) -> dict[str, Any]:
    """The known keys of one object table, each checked by its reader (others are ignored)."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        reader = readers.get(key) if isinstance(key, bytes) else None
        if reader is not None:
            out[key.decode()] = reader(value)
    if not out.get("collection"):
        raise NkArgError("expects collection to be supplied", 1)
    if not out.get("key"):
        raise NkArgError("expects key to be supplied", 1)
    return out


def _version_field(value: Any) -> str:
    if not isinstance(value, bytes):
        raise NkArgError("expects version to be string", 1)
    if value == b"":
        raise NkArgError("expects version to be a non-empty string", 1)
    return value.decode("utf-8", "replace")


def _permission(name: str) -> Callable[[Any], int]:
    def read(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise NkArgError(f"expects {name} to be number", 1)
        return int(value)  # ⚠ Nakama checks no range here

    return read


def _value_field(value: Any) -> str:
    """The table as JSON text, keys sorted and compact (Go's json.Marshal of the map)."""
    if lua_type(value) != "table":
        raise NkArgError("expects value to be table", 1)
    data = from_lua(value)
    if isinstance(data, list):  # Nakama converts every table to a map: keys "1", "2", ...
        data = {str(i + 1): v for i, v in enumerate(data)}
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()


_ID = {b"collection": lambda v: _string_field(v, "collection"), b"key": lambda v: _string_field(v, "key"),
       b"user_id": _user_field}
_DELETE = {**_ID, b"version": _version_field}
_WRITE = {**_DELETE, b"value": _value_field, b"permission_read": _permission("permission_read"),
          b"permission_write": _permission("permission_write")}


def _core(bridge: Bridge, fname: str) -> StorageCore:
    return bridge.feature(fname, NAME)  # type: ignore[no-any-return]


def _run(bridge: Bridge, fname: str, failure: str, call: Callable[..., Any], *args: Any) -> Any:
    try:
        return bridge.run(fname, call, *args)
    except (ApiError, DatabaseError) as exc:
        raise NkArgError(f"{failure}: {exc.message if isinstance(exc, ApiError) else exc}") from None


def _object_table(obj: StoredObject) -> dict[bytes, Any]:
    return {
        b"key": obj.key.encode(), b"collection": obj.collection.encode(), b"user_id": obj.user_id.encode(),
        b"version": obj.version.encode(), b"permission_read": obj.permission_read,
        b"permission_write": obj.permission_write, b"create_time": obj.create_time // 1_000_000,
        b"update_time": obj.update_time // 1_000_000, b"value": json_decode(obj.value.encode()),
    }


def storage_read(bridge: Bridge, keys: Any = None) -> Any:
    ids = []
    for item in _entries(keys, "keys"):
        fields = _fields(item, _ID)
        ids.append(ObjectId(fields["collection"], fields["key"], fields.get("user_id", NIL)))
    if not ids:
        return Ready([])
    core = _core(bridge, "storage_read")
    objects = _run(bridge, "storage_read", "failed to read storage objects", core.read, ids, None)
    return Ready([_object_table(o) for o in objects])


def storage_write(bridge: Bridge, data: Any = None) -> Any:
    ops = []
    for item in _entries(data, "data"):
        fields = _fields(item, _WRITE)
        if "value" not in fields:
            raise NkArgError("expects value to be supplied", 1)
        ops.append(WriteOp(
            fields["collection"], fields["key"], fields.get("user_id", NIL), fields["value"], fields.get("version", ""),
            fields.get("permission_read", 1), fields.get("permission_write", 1),
        ))
    if not ops:
        return Ready([])
    core = _core(bridge, "storage_write")
    acks = _run(bridge, "storage_write", "failed to write storage objects", core.write, ops, None)
    return Ready([
        {b"key": a.key.encode(), b"collection": a.collection.encode(), b"user_id": a.user_id.encode(),
         b"version": a.version.encode()}
        for a in acks
    ])


def storage_delete(bridge: Bridge, keys: Any = None) -> tuple[()]:
    ids = []
    for item in _entries(keys, "object IDs"):
        fields = _fields(item, _DELETE)
        ids.append(ObjectId(fields["collection"], fields["key"], fields.get("user_id", NIL), fields.get("version", "")))
    if ids:
        core = _core(bridge, "storage_delete")
        _run(bridge, "storage_delete", "failed to remove storage", core.delete, ids, None)
    return ()


def _opt_string(value: Any, argn: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, bytes):
        raise NkArgError(f"string expected, got {lua_type(value) or type(value).__name__}", argn)
    return value.decode("utf-8", "replace")


def storage_list(
    bridge: Bridge, user_id: Any = None, collection: Any = None, limit: Any = None, cursor: Any = None, caller_id: Any = None
) -> tuple[Any, Any]:
    """``storage_list(user_id, collection, limit, cursor, caller_id)`` -> objects, cursor or nil.
    ⚠ ``limit`` is required (Nakama's CheckInt)."""
    owner_text = _opt_string(user_id, 1)
    collection_text = _opt_string(collection, 2)
    if isinstance(limit, bool) or not isinstance(limit, (int, float)):
        raise NkArgError(f"number expected, got {'nil' if limit is None else lua_type(limit) or 'boolean'}", 3)
    if limit < 0:
        raise NkArgError("limit must not be negative", 3)
    cursor_text = _opt_string(cursor, 4)
    owner = caller = None
    if owner_text:
        try:
            owner = str(uuid.UUID(owner_text))
        except ValueError:
            raise NkArgError("expects empty or a valid user ID", 1) from None
    caller_text = _opt_string(caller_id, 5)
    if caller_text:
        try:
            caller = str(uuid.UUID(caller_text))
        except ValueError:
            raise NkArgError("expects caller ID to be empty or a valid identifier", 5) from None
    core = _core(bridge, "storage_list")
    objects, next_cursor = _run(
        bridge, "storage_list", "failed to list storage objects", core.list, caller, owner, collection_text, int(limit),
        cursor_text,
    )
    return Ready([_object_table(o) for o in objects]), (next_cursor.encode() if next_cursor else None)


NK: dict[str, Callable[..., Any]] = {
    "storage_read": storage_read,
    "storage_write": storage_write,
    "storage_delete": storage_delete,
    "storage_list": storage_list,
}
