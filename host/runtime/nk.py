"""The nk module's Python side: one table from Lua name to implementation.

Functions written in Lua (register_*, run_once, get_context, json_encode) live in the
prelude, lua/sandbox.lua. Everything here is reached through ``bind``: a wrapper that never
lets a Python exception or object into Lua. It returns ``(true, n, a, b, c)`` on success and
``(false, text)`` on failure; the prelude's closure raises the text at the caller's line.

Implementations return one value (None is nil), a tuple for several values, or ``()``
for none, as Nakama's functions push 0, 1 or more results.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from lupa.luajit21 import LuaError

from . import nk_utils
from .bridge import Bridge, Services, check_string
from .convert import Ready, from_lua, lua_type, to_lua
from .errors import NkArgError
from .events import event as _event
from .nk_http import http_request as _http_request
from .nk_streams import FUNCTIONS as STREAM_FUNCTIONS
from .outbox import Outbox
from .sandbox import HEADROOM, Binder, Sandbox

__all__ = ["binder", "NAMES"]

lua_log = logging.getLogger("nkhost.lua")


def _logger(level: int, bridge: Bridge, message: Any) -> str:
    text = check_string(message, 1) if message is not None else ""
    if text == "":
        raise NkArgError("expects message string", 1)
    lua_log.log(level, "runtime_generation=%d %s", bridge.vm.generation, text)
    return text


def _cache(bridge: Bridge) -> Any:
    cache = bridge.services.cache
    if cache is None:
        raise NkArgError("localcache is not available")
    return cache


def _localcache_get(bridge: Bridge, key: Any, default: Any = None) -> Any:
    return Ready(_cache(bridge).get(key, default))


def _localcache_put(bridge: Bridge, key: Any, value: Any, ttl: Any = None) -> tuple[()]:
    _cache(bridge).put(key, value, ttl)
    return ()


def _localcache_delete(bridge: Bridge, key: Any) -> tuple[()]:
    _cache(bridge).delete(key)
    return ()


def _localcache_clear(bridge: Bridge) -> tuple[()]:
    _cache(bridge).clear()
    return ()


def _json_decode(text: Any) -> Ready:
    return Ready(*nk_utils.json_decode_sized(text))


_BRIDGED: dict[str, Callable[..., Any]] = {
    **STREAM_FUNCTIONS,
    "logger_debug": partial(_logger, logging.DEBUG),
    "logger_info": partial(_logger, logging.INFO),
    "logger_warn": partial(_logger, logging.WARNING),
    "logger_error": partial(_logger, logging.ERROR),
    "localcache_get": _localcache_get,
    "localcache_put": _localcache_put,
    "localcache_delete": _localcache_delete,
    "localcache_clear": _localcache_clear,
    "event": _event,
    "http_request": _http_request,
}
"""Functions that take the VM's Bridge first. Stream functions read Lua tables themselves;
the localcache ones get converted arguments (see _converted)."""

_PLAIN: dict[str, Callable[..., Any]] = {
    **{name: getattr(nk_utils, name) for name in nk_utils.__all__ if name not in ("json_decode", "string_arg")},
    "json_decode": _json_decode,
}
"""Pure functions (host/runtime/nk_utils.py), called with converted arguments."""

_CONVERTED = frozenset(_PLAIN) | {"localcache_get", "localcache_put", "localcache_delete", "localcache_clear"}

NAMES = tuple(sorted({*_BRIDGED, *_PLAIN}))


class _NkFunction:
    """One nk function as Lua calls it (through the prelude's closure): arguments converted
    where the function wants Python data, ``first`` (the VM's Bridge) passed first when set, and
    any failure returned as ``(false, text)``, never raised into Lua.

    One slotted object per function per VM: the closures, cells and partials it replaces made
    ~8 objects each, ~380 per VM for the cyclic GC to walk (a server holds a VM per worker and
    one per authoritative match)."""

    __slots__ = ("name", "fn", "lua", "first", "convert")

    def __init__(self, name: str, fn: Callable[..., Any], lua: Any, first: Any = None) -> None:
        self.name, self.fn, self.lua, self.first = name, fn, lua, first
        self.convert = name in _CONVERTED

    def __call__(self, *args: Any) -> tuple[Any, ...]:
        name, lua = self.name, self.lua
        try:
            if self.convert:  # Lua tables among the arguments become Python data (bytes kept)
                args = tuple(from_lua(a, text=False) if lua_type(a) is not None else a for a in args)
            result = self.fn(*args) if self.first is None else self.fn(self.first, *args)
            return _to_lua_results(lua, result)
        except NkArgError as exc:
            return False, exc.lua_text(name).encode()
        except TypeError as exc:
            lua_log.debug("nk.%s: %s", name, exc)
            return False, f"{name}: wrong number or type of arguments".encode()
        except ValueError as exc:  # a Lua value that cannot cross (a function, a cycle)
            return False, f"{name}: {exc}".encode()
        except RecursionError:  # an __index that calls nk again while its table converts, and so on
            return False, f"{name}: calls nested too deeply".encode()
        except MemoryError:  # lupa's LuaMemoryError is one too
            return False, b"not enough memory"
        except LuaError as exc:  # raised by Lua run while converting (an __index): its text, once
            return False, str(exc).split("\n", 1)[0].encode()
        except Exception:
            lua_log.exception("nk.%s failed", name)
            return False, f"{name}: internal error".encode()


def _results_size(values: tuple[Any, ...]) -> int:
    """What pushing ``values`` onto the Lua stack allocates: its strings (tables exist already)."""
    return sum(len(v) for v in values if type(v) is bytes)


def _to_lua_results(lua: Any, result: Any) -> tuple[Any, ...]:
    """``(True, n, values...)`` for Lua, the values built with the VM's memory cap lifted.

    A refused allocation inside lupa's glue (table_from, pushing a result) is not a Lua error
    but a deadlock of the whole process (issue 13: json_decode near the cap). So the tables are
    built with no cap, and the call reports Lua's "not enough memory" instead when they would
    not fit (a Ready's ``lua_bytes``, checked first) or did not (the heap after building them,
    with room to spare for lupa to push them). The Lua side made sure of that room before the
    call (``bind`` in lua/sandbox.lua), so the error text itself can always be pushed.
    """
    results = result if type(result) is tuple else (result,)
    for v in results:  # the common case: scalars and short strings fit in the room left
        kind = type(v)
        if not (kind in _SCALARS or (kind is bytes and len(v) < _SHORT)):
            break
    else:
        return (True, len(results), *results) if type(result) is tuple else (True, 1, result)
    cap = lua.get_max_memory()
    need = sum(r.lua_bytes for r in results if type(r) is Ready)
    if need and lua.get_memory_used() + need + HEADROOM > cap:
        lua.gccollect()
        if lua.get_memory_used() + need + HEADROOM > cap:
            return _NO_MEMORY
    lua.set_max_memory(0)
    try:
        values = tuple([to_lua(lua, v) for v in results])
    finally:
        lua.set_max_memory(cap)
    if lua.get_memory_used() + _results_size(values) + HEADROOM > cap:
        del values
        lua.gccollect()
        return _NO_MEMORY
    if type(result) is tuple:
        return (True, len(values), *values)
    return True, 1, values[0]


_NO_MEMORY = (False, b"not enough memory")
_SCALARS = frozenset({int, float, bool, type(None)})
_SHORT = HEADROOM // 16


def _bind(name: str, fn: Callable[..., Any], lua: Any, first: Any = None) -> Callable[..., tuple[Any, ...]]:
    return _NkFunction(name, fn, lua, first)


def binder(services: Services, outbox: Outbox | None, extra: Mapping[str, Callable[..., Any]] | None = None) -> Binder:
    """The Binder a Sandbox calls to get its nk functions, wired to ``outbox``'s thread.

    ``extra`` are the built-in features' nk functions (name -> fn(bridge, *lua_args)),
    bound like the stream functions; a name may not shadow one of the runtime's own.
    """
    bridged = dict(_BRIDGED)
    for name, fn in (extra or {}).items():
        if name in bridged or name in _PLAIN:
            raise ValueError(f"nk.{name} is defined twice")
        bridged[name] = fn

    def bind(vm: Sandbox) -> Mapping[str, Callable[..., Any]]:
        bridge = Bridge(services, outbox, vm)
        functions = {name: _bind(name, fn, vm.lua) for name, fn in _PLAIN.items()}
        functions.update((name, _bind(name, fn, vm.lua, bridge)) for name, fn in bridged.items())
        return functions

    return bind
