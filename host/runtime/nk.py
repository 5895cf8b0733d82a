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

from .bridge import Bridge, Services, check_string
from .convert import to_lua
from .errors import NkArgError
from .nk_streams import FUNCTIONS as STREAM_FUNCTIONS
from .outbox import Outbox
from .sandbox import Binder, Sandbox

__all__ = ["binder", "NAMES"]

lua_log = logging.getLogger("nkhost.lua")


def _logger(level: int, bridge: Bridge, message: Any) -> str:
    text = check_string(message, 1) if message is not None else ""
    if text == "":
        raise NkArgError("expects message string", 1)
    lua_log.log(level, "runtime_generation=%d %s", bridge.vm.generation, text)
    return text


_BRIDGED: dict[str, Callable[..., Any]] = {
    **STREAM_FUNCTIONS,
    "logger_debug": partial(_logger, logging.DEBUG),
    "logger_info": partial(_logger, logging.INFO),
    "logger_warn": partial(_logger, logging.WARNING),
    "logger_error": partial(_logger, logging.ERROR),
}
"""Functions that take the VM's Bridge as their first argument."""

NAMES = tuple(sorted(_BRIDGED))


def _bind(name: str, fn: Callable[..., Any], lua: Any) -> Callable[..., tuple[Any, ...]]:
    def call(*args: Any) -> tuple[Any, ...]:
        try:
            result = fn(*args)
            if type(result) is tuple:
                return (True, len(result), *[to_lua(lua, v) for v in result])
            return True, 1, to_lua(lua, result)
        except NkArgError as exc:
            return False, exc.lua_text(name).encode()
        except TypeError as exc:
            lua_log.debug("nk.%s: %s", name, exc)
            return False, f"{name}: wrong number or type of arguments".encode()
        except MemoryError:
            return False, b"not enough memory"
        except Exception as exc:
            if type(exc).__name__ == "LuaMemoryError":
                return False, b"not enough memory"
            lua_log.exception("nk.%s failed", name)
            return False, f"{name}: internal error".encode()

    return call


def binder(services: Services, outbox: Outbox | None) -> Binder:
    """The Binder a Sandbox calls to get its nk functions, wired to ``outbox``'s thread."""

    def bind(vm: Sandbox) -> Mapping[str, Callable[..., Any]]:
        bridge = Bridge(services, outbox, vm)
        return {name: _bind(name, partial(fn, bridge), vm.lua) for name, fn in _BRIDGED.items()}

    return bind
