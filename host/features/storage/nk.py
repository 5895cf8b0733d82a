"""Lua: nk.storage_read / storage_write / storage_delete / storage_list, Nakama's shapes and texts.

Server code bypasses permissions. Arguments are checked on the worker with Nakama's texts
(runtime_lua_nakama.go). The core's database work runs right on the worker where the engine
allows it (``Database.blocking``: SQLite), else on the loop (``Bridge.run_core``). A list
argument without an array part (one object table passed without the wrapping list) reads and
writes nothing and returns ``{}`` (⚠ Nakama does the same; a test pins it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from host.runtime.bridge import Bridge
from host.runtime.convert import Ready, from_lua, lua_type
from host.runtime.errors import NkArgError
from host.runtime.nk_utils import json_decode

from .core import NIL, ObjectId, StorageCore, StoredObject, WriteOp, parse_uuid

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
    if value == b"":
        raise NkArgError(f"expects {name} to be a non-empty string", 1)
    return value.decode("utf-8", "replace")


def _object_id(item: Any, with_version: bool) -> ObjectId:
    """collection, key, user_id (and version) of one object table; other keys are ignored."""
    collection, key, user_id = item[b"collection"], item[b"key"], item[b"user_id"]
    collection = "" if collection is None else _string_field(collection, "collection")
    key = "" if key is None else _string_field(key, "key")
    owner = NIL
    if user_id is not None:
        if not isinstance(user_id, bytes):
            raise NkArgError("expects user_id to be string", 1)
        owner = parse_uuid(user_id.decode("utf-8", "replace"))  # type: ignore[assignment]
        if owner is None:
            raise NkArgError("expects user_id to be a valid ID", 1)  # ⚠ "" too: omit the key instead
    version = ""
    if with_version and (raw := item[b"version"]) is not None:
        version = _string_field(raw, "version")
    if not collection:
        raise NkArgError("expects collection to be supplied", 1)
    if not key:
        raise NkArgError("expects key to be supplied", 1)
    return ObjectId(collection, key, owner, version)


def _permission(item: Any, name: str) -> int:
    value = item[name.encode()]
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NkArgError(f"expects {name} to be number", 1)
    return int(value)  # ⚠ Nakama checks no range here


def _value_field(value: Any) -> str:
    """The table as JSON text, keys sorted and compact (Go's json.Marshal of the map)."""
    if value is None:
        raise NkArgError("expects value to be supplied", 1)
    if lua_type(value) != "table":
        raise NkArgError("expects value to be table", 1)
    data = from_lua(value)
    if isinstance(data, list):  # Nakama converts every table to a map: keys "1", "2", ...
        data = {str(i + 1): v for i, v in enumerate(data)}
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()


def _core(bridge: Bridge, fname: str) -> StorageCore:
    return bridge.feature(fname, NAME)  # type: ignore[no-any-return]


def _run(bridge: Bridge, fname: str, failure: str, core: StorageCore, call: Callable[..., Any], *args: Any) -> Any:
    return bridge.run_core(fname, failure, core.db, call, *args)


_TABLES: dict[tuple[str, str, str, str, int], dict[bytes, Any]] = {}
_TABLES_LIMIT = 4096


def _object_table(obj: StoredObject) -> dict[bytes, Any]:
    """The Lua-ready table of an object, memoised by (id, version, update time): decoding the
    value is most of a cached read's cost. Read-only once built (table_from copies it)."""
    memo = (obj.collection, obj.key, obj.user_id, obj.version, obj.update_time)
    table = _TABLES.get(memo)
    if table is None:
        table = {
            b"key": obj.key.encode(), b"collection": obj.collection.encode(), b"user_id": obj.user_id.encode(),
            b"version": obj.version.encode(), b"permission_read": obj.permission_read,
            b"permission_write": obj.permission_write, b"create_time": obj.create_time // 1_000_000,
            b"update_time": obj.update_time // 1_000_000, b"value": json_decode(obj.value.encode()),
        }
        if len(_TABLES) >= _TABLES_LIMIT:
            _TABLES.clear()
        _TABLES[memo] = table
    return table


def storage_read(bridge: Bridge, keys: Any = None) -> Any:
    ids = [_object_id(item, False) for item in _entries(keys, "keys")]
    if not ids:
        return Ready([])
    core = _core(bridge, "storage_read")
    objects = _run(bridge, "storage_read", "failed to read storage objects", core, core.read, ids, None)
    return Ready([_object_table(o) for o in objects])


def storage_write(bridge: Bridge, data: Any = None) -> Any:
    ops = []
    for item in _entries(data, "data"):
        oid = _object_id(item, True)
        ops.append(WriteOp(
            oid.collection, oid.key, oid.user_id, _value_field(item[b"value"]), oid.version,
            _permission(item, "permission_read"), _permission(item, "permission_write"),
        ))
    if not ops:
        return Ready([])
    core = _core(bridge, "storage_write")
    acks = _run(bridge, "storage_write", "failed to write storage objects", core, core.write, ops, None)
    return Ready([
        {b"key": a.key.encode(), b"collection": a.collection.encode(), b"user_id": a.user_id.encode(),
         b"version": a.version.encode()}
        for a in acks
    ])


def storage_delete(bridge: Bridge, keys: Any = None) -> tuple[()]:
    ids = [_object_id(item, True) for item in _entries(keys, "object IDs")]
    if ids:
        core = _core(bridge, "storage_delete")
        _run(bridge, "storage_delete", "failed to remove storage", core, core.delete, ids, None)
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
    owner = parse_uuid(owner_text) if owner_text else None
    if owner_text and owner is None:
        raise NkArgError("expects empty or a valid user ID", 1)
    caller_text = _opt_string(caller_id, 5)
    caller = parse_uuid(caller_text) if caller_text else None
    if caller_text and caller is None:
        raise NkArgError("expects caller ID to be empty or a valid identifier", 5)
    core = _core(bridge, "storage_list")
    objects, next_cursor = _run(
        bridge, "storage_list", "failed to list storage objects", core, core.list, caller, owner, collection_text, int(limit),
        cursor_text,
    )
    return Ready([_object_table(o) for o in objects]), (next_cursor.encode() if next_cursor else None)


NK: dict[str, Callable[..., Any]] = {
    "storage_read": storage_read,
    "storage_write": storage_write,
    "storage_delete": storage_delete,
    "storage_list": storage_list,
}
