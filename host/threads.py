"""Threads that run Lua get a big C stack.

Lua code re-enters C and C re-enters Lua (a ``gsub`` callback, ``table.sort``'s comparator,
a ``coroutine.resume``): each level costs C stack, some 8 KiB for ``gsub`` (its buffer), and
the default thread stack (8 MiB, RLIMIT_STACK) ran out at about 1,000 levels, a SIGSEGV
that took the process down (issue 13). The prelude caps that nesting (lua/sandbox.lua,
``MAX_C_NESTING``); this stack leaves that cap a wide margin. ``threading.stack_size`` is
process-wide and read when a thread starts, so it is set and put back around ``start``
under a lock; the memory is reserved, not used, until a thread touches it.
"""

from __future__ import annotations

import threading

__all__ = ["LUA_STACK_BYTES", "start_lua_thread"]

LUA_STACK_BYTES = 16 << 20

_lock = threading.Lock()


def start_lua_thread(thread: threading.Thread) -> None:
    """``thread.start()`` with a stack of :data:`LUA_STACK_BYTES`."""
    with _lock:
        previous = threading.stack_size(LUA_STACK_BYTES)
        try:
            thread.start()
        finally:
            threading.stack_size(previous)
