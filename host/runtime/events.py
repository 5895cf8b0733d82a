"""nk.event and the event pipeline: a bounded queue drained by Lua handlers on the worker pool.

As in Nakama (``server/runtime_event.go``), an event never waits for its handlers: nk.event
checks its arguments on the worker, hands the event to the loop through the VM's outbox
(fire-and-forget, in script order) and returns. The loop puts it in a queue of
``runtime.event_queue_size`` events; when the queue is full the event is dropped with
Nakama's warning. ``runtime.event_queue_workers`` consumer tasks take events off the queue
and run every ``nk.register_event`` function on the worker pool, each as its own Lua call
(under the usual limits) with its own context: execution mode ``event``, the caller's user,
no session. So at most that many workers run event handlers at once and the rest keep
serving RPCs. An event with no handler registered is dropped at once (Nakama queues nothing
then either); events still queued at shutdown are dropped, as Nakama's Stop does.

The handler receives ``(ctx, event)`` with ``event = {name, properties, timestamp, external}``:
``timestamp`` is the one given to nk.event (UTC seconds) or, when none was, the time nk.event
was called.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .bridge import Bridge, check_string, opt_bool
from .context import CallContext
from .convert import lua_type, type_name
from .errors import NkArgError

__all__ = ["EventQueue", "event"]

log = logging.getLogger("nkhost.runtime")

Deliver = Callable[[CallContext, dict[str, Any]], Awaitable[None]]
"""Runs every registered handler for one event (Runtime._deliver_event)."""


class EventQueue:
    """The bounded queue and its consumers; ``put`` and ``start`` run on the loop thread."""

    def __init__(self, size: int, workers: int, deliver: Deliver, wanted: Callable[[], bool]) -> None:
        self._queue: asyncio.Queue[tuple[CallContext, dict[str, Any]]] = asyncio.Queue(size)
        self._workers = workers
        self._deliver = deliver
        self._wanted = wanted
        self._tasks: list[asyncio.Task[None]] = []
        self.dropped = 0
        self._unreported = 0
        self._warned_at = 0.0

    def start(self) -> None:
        self._tasks = [asyncio.get_running_loop().create_task(self._consume(), name=f"nkhost-event-{i}") for i in range(self._workers)]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._queue.qsize():
            log.info("runtime event queue: %d events dropped at shutdown", self._queue.qsize())

    def put(self, ctx: CallContext, event: dict[str, Any]) -> None:
        """Queue an event without waiting; a full queue drops it (one warning a second at most)."""
        if not self._wanted():
            return
        try:
            self._queue.put_nowait((ctx, event))
        except asyncio.QueueFull:
            self.dropped += 1
            self._unreported += 1
            now = time.monotonic()
            if now - self._warned_at >= 1.0:
                log.warning("Runtime event queue full, events may be lost (%d dropped)", self._unreported)
                self._warned_at, self._unreported = now, 0

    async def _consume(self) -> None:
        queue = self._queue
        while True:
            ctx, event = await queue.get()
            try:
                await self._deliver(ctx, event)
            except Exception:
                log.exception("runtime event %r: delivery failed", event.get("name"))


def _properties(value: Any) -> dict[bytes, bytes]:
    """OptTable(2): string keys and string values only (numbers are not strings here)."""
    if value is None:
        return {}
    if lua_type(value) != "table":
        raise NkArgError(f"table expected, got {type_name(value)}", 2)
    out = {}
    for k, v in value.items():
        if not isinstance(k, bytes):
            raise NkArgError("properties keys must be strings", 2)
        if not isinstance(v, bytes):
            raise NkArgError("properties values must be strings", 2)
        out[k] = v
    return out


def _timestamp(value: Any) -> int | None:
    """OptInt64(3, -1): 0 is refused, -1 (or nil) means none."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NkArgError(f"number expected, got {type_name(value)}", 3)
    seconds = int(value)
    if seconds == 0:
        raise NkArgError("timestamp must be numeric UTC seconds when provided", 3)
    return None if seconds == -1 else seconds


def event(bridge: Bridge, name: Any = None, properties: Any = None, timestamp: Any = None, external: Any = None) -> tuple[()]:
    """nk.event(name, properties?, timestamp?, external?): queue an event for the handlers."""
    text = check_string(name, 1)
    if text == "":
        raise NkArgError("expects name string", 1)
    props = _properties(properties)
    seconds = _timestamp(timestamp)
    is_external = opt_bool(external, 4, False)
    queue = bridge.services.events
    if queue is None or bridge.outbox is None:  # nkhost check: no server, no handler runs
        return ()
    caller = bridge.vm.context or CallContext()
    ctx = CallContext(
        execution_mode="event", user_id=caller.user_id, username=caller.username, vars=dict(caller.vars),
        user_session_exp=caller.user_session_exp, client_ip=caller.client_ip, client_port=caller.client_port,
    )
    payload = {
        "name": text, "properties": props, "external": is_external,
        "timestamp": seconds if seconds is not None else int(time.time()),
    }
    bridge.post("event", queue.put, ctx, payload)
    return ()
