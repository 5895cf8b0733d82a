"""Hot reload trigger: watch runtime.path for ``*.lua`` changes and reload after a quiet spell.

watchfiles groups a burst of events (an editor's write-temp-then-rename save) into one batch:
it yields once no new change arrived for ``step`` ms. Each batch triggers one reload; a
reload that fails keeps the old generation and logs why (see Runtime.reload).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from watchfiles import Change, awatch

__all__ = ["watch", "lua_filter"]

log = logging.getLogger("nkhost.runtime")

DEBOUNCE_MS = 50


def lua_filter(change: Change, path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.lower().endswith(".lua") and not name.startswith(".")


async def watch(path: str, reload: Callable[[], Awaitable[Any]], stop: asyncio.Event) -> None:
    async for changes in awatch(path, watch_filter=lua_filter, step=DEBOUNCE_MS, stop_event=stop, rust_timeout=1000):
        log.info("runtime: %d change(s) under %s, reloading", len(changes), path)
        try:
            await reload()
        except Exception:
            log.exception("runtime: reload failed")
