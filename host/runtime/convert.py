"""Values across the Lua boundary.

The VM runs with ``encoding=None``: Lua strings reach Python as ``bytes`` (binary-safe for
the crypto helpers) and a Python ``str`` would reach Lua as an opaque object, so every value
sent to Lua goes through ``to_lua``. Only tables, strings, numbers, booleans and nil cross.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lupa import luajit21

__all__ = ["to_lua", "from_lua", "Ready", "lua_type", "type_name", "MAX_DEPTH", "MAX_VALUES", "MAX_STRING_BYTES"]

MAX_DEPTH = 64

lua_type = luajit21.lua_type


def type_name(value: Any) -> str:
    """The Lua type name of a value received from Lua (for "X expected, got Y" texts)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, bytes):
        return "string"
    return lua_type(value) or "userdata"


@dataclass(slots=True, frozen=True)
class Ready:
    """Data already fit for ``table_from``: bytes strings, no str, no object met twice
    (json_decode's output, a localcache value). Skips the copying walk. ``lua_bytes``, when
    known, bounds what its tables take in the Lua heap (checked against the cap before they
    are built: nk.py)."""

    value: Any
    lua_bytes: int = 0


def _plain(value: Any, depth: int) -> Any:
    """A fresh copy of ``value`` with every str as UTF-8 bytes.

    Fresh containers on every occurrence also sidestep lupa#297 (an object met twice
    by table_from becomes an empty table the second time).

    Exact types first (str, the scalars, dict, list): hook requests and envelopes are
    JSON-shaped, and the ABC ``isinstance`` checks cost most of the walk (a 3-level request
    dict: 5.7 -> ~2 us). Anything else (a str subclass, a Mapping, a tuple) takes the
    general path, with the same result as before.
    """
    kind = type(value)
    if kind is str:
        return value.encode()
    if kind in _SCALARS:
        return value
    if kind is dict or kind is list:
        if depth >= MAX_DEPTH:
            raise ValueError(f"value nested deeper than {MAX_DEPTH} levels")
        depth += 1
        if kind is dict:
            return {
                (k.encode() if type(k) is str else _plain(k, depth)): (v.encode() if type(v) is str else _plain(v, depth))
                for k, v in value.items()
                if v is not None
            }
        return [v.encode() if type(v) is str else _plain(v, depth) for v in value]
    return _plain_general(value, depth)


def _plain_general(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, (bool, int, float, bytes)):
        return value
    if isinstance(value, str):
        return value.encode()
    if depth >= MAX_DEPTH:
        raise ValueError(f"value nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, Mapping):
        return {_plain(k, depth + 1): _plain(v, depth + 1) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in value]
    raise TypeError(f"cannot pass a {type(value).__name__} to Lua")


_SCALARS = frozenset({bytes, int, float, bool, type(None)})


def to_lua(lua: Any, value: Any) -> Any:
    """A Lua-safe value: containers become Lua tables (lists 1-based), str becomes bytes."""
    kind = type(value)
    if kind in _SCALARS:  # the common case (payloads, results): no ABC isinstance checks
        return value
    if kind is str:
        return value.encode()
    if kind is dict or kind is list:  # hook requests and envelopes: skip the ABC checks below
        return lua.table_from(_plain(value, 0), recursive=True)
    if kind is Ready:
        value = value.value
        if isinstance(value, (Mapping, list, tuple)):
            return lua.table_from(value, recursive=True)
        return value
    if isinstance(value, (Mapping, list, tuple)):
        return lua.table_from(_plain(value, 0), recursive=True)
    return _plain(value, 0)


MAX_VALUES = 250_000
MAX_STRING_BYTES = 32 << 20
"""A Lua value converted to Python holds at most MAX_VALUES values (tables, keys and leaves)
and MAX_STRING_BYTES of strings: one Lua string or table met on many paths (a DAG) is copied on
each, outside the VM's memory cap (issue 13: one 1 KiB string 20 levels deep, 1M paths, grew
the process by gigabytes)."""


def from_lua(value: Any, *, text: bool = True) -> Any:
    """A JSON-shaped Python value from a Lua value, with Nakama's table rules.

    A table with ``#t > 0`` is a list of t[1..#t] (other keys dropped); any other table is a
    dict with string keys (booleans as "true"/"false"), so an empty table is ``{}``.
    Strings are decoded as UTF-8, or kept as bytes with ``text=False`` (binary-safe, for
    values that go back to Lua); functions and other values raise ValueError, and so does a
    value past MAX_DEPTH, MAX_VALUES or MAX_STRING_BYTES.
    """
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, bytes):
        if len(value) > MAX_STRING_BYTES:
            raise ValueError(_TOO_MANY_BYTES)
        return value.decode("utf-8") if text else value
    return _from_lua(value, 0, text, [MAX_VALUES, MAX_STRING_BYTES])


_TOO_MANY_VALUES = f"value too large to convert: more than {MAX_VALUES} values"
_TOO_MANY_BYTES = f"value too large to convert: more than {MAX_STRING_BYTES >> 20} MiB of strings"


def _from_lua(value: Any, depth: int, text: bool, left: list[int]) -> Any:
    """from_lua's walk; ``left`` is [values, string bytes] still allowed."""
    left[0] -= 1
    if left[0] < 0:
        raise ValueError(_TOO_MANY_VALUES)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, bytes):
        left[1] -= len(value)
        if left[1] < 0:
            raise ValueError(_TOO_MANY_BYTES)
        return value.decode("utf-8") if text else value
    if lua_type(value) != "table":
        raise ValueError(f"cannot convert a Lua {type_name(value)}")
    if depth >= MAX_DEPTH:
        raise ValueError(f"table nested deeper than {MAX_DEPTH} levels")
    n = len(value)
    if n > 0:
        if n > left[0]:
            raise ValueError(_TOO_MANY_VALUES)
        return [_from_lua(value[i], depth + 1, text, left) for i in range(1, n + 1)]
    out: dict[Any, Any] = {}
    for k, v in value.items():
        left[0] -= 1
        if isinstance(k, bytes):
            key = k.decode("utf-8") if text else k
            left[1] -= len(k)
            if left[1] < 0:
                raise ValueError(_TOO_MANY_BYTES)
        elif isinstance(k, bool):
            key = "true" if k else "false"
        elif isinstance(k, (int, float)):
            key = str(int(k)) if float(k).is_integer() else repr(k)
        else:
            raise ValueError(f"cannot convert a Lua table key of type {type_name(k)}")
        out[key if text or isinstance(key, bytes) else key.encode()] = _from_lua(v, depth + 1, text, left)
    return out
