"""One VM's FIFO to the event loop.

Everything a VM's calls (and its modules' top levels) need done on the loop goes through
its outbox, in the order the script did it: fire-and-forget nk calls (stream_send), calls that need an answer
(stream_user_join; the worker blocks on them, the loop never does), coroutines that need an
answer (a feature's database work: started on the loop in that order, awaited there, the
worker blocked until they finish) and the completion of the call itself. So a client sees data and presence events in script order, and the
RPC reply only after them. A burst costs one ``call_soon_threadsafe``, not one per item
(lua-runtime-notes §5: 100k sends in 0.58 s batched against 2.28 s unbatched).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from threading import Lock
from typing import Any

__all__ = ["Outbox", "LoopTimeout"]

log = logging.getLogger("nkhost.runtime")


class LoopTimeout(TimeoutError):
    """The loop did not answer before the call's deadline."""


class _Answer:
    __slots__ = ("done", "value", "error")

    def __init__(self) -> None:
        self.done = Lock()
        self.done.acquire()
        self.value: Any = None
        self.error: BaseException | None = None


class Outbox:
    __slots__ = ("_loop", "_items", "_scheduled", "closed")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: deque[tuple[Callable[..., Any], tuple[Any, ...], _Answer | None]] = deque()
        self._scheduled = False
        self.closed = False

    def close(self) -> None:
        """Refuse further work: a retired worker's call must not act after it was failed."""
        self.closed = True
        self._items.clear()

    # Worker side ------------------------------------------------------------------

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the loop after everything posted before; errors are logged."""
        if self.closed:
            return
        self._items.append((fn, args, None))
        if not self._scheduled:
            self._wake()

    def ask(self, timeout: float, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` on the loop in FIFO order and wait for its result or exception."""
        if self.closed:
            raise LoopTimeout("the worker was retired")
        answer = _Answer()
        self._items.append((fn, args, answer))
        if not self._scheduled:
            self._wake()
        if not answer.done.acquire(timeout=max(timeout, 0.0)):
            raise LoopTimeout("the server did not answer before the call's deadline")
        if answer.error is not None:
            raise answer.error
        return answer.value

    def ask_async(self, timeout: float, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """Start the coroutine ``fn(*args)`` on the loop in FIFO order and wait for its result.

        When ``timeout`` passes first the coroutine is cancelled (its transaction rolls back
        unless it already committed) and LoopTimeout is raised.
        """
        if self.closed:
            raise LoopTimeout("the worker was retired")
        answer = _Answer()
        tasks: list[asyncio.Task[Any]] = []

        def finished(task: asyncio.Task[Any]) -> None:
            if task.cancelled():
                answer.error = LoopTimeout("the server did not answer before the call's deadline")
            else:
                answer.error = task.exception()
                if answer.error is None:
                    answer.value = task.result()
            answer.done.release()

        def start() -> None:
            task = self._loop.create_task(fn(*args))
            tasks.append(task)
            task.add_done_callback(finished)

        self._items.append((start, (), None))
        if not self._scheduled:
            self._wake()
        if not answer.done.acquire(timeout=max(timeout, 0.0)):
            self._loop.call_soon_threadsafe(lambda: [t.cancel() for t in tasks])
            raise LoopTimeout("the server did not answer before the call's deadline")
        if answer.error is not None:
            raise answer.error
        return answer.value

    def _wake(self) -> None:
        self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # loop closed during shutdown: nothing will read this any more
            self._items.clear()

    # Loop side --------------------------------------------------------------------

    def _drain(self) -> None:
        # Clear the flag before counting: a post racing with us either is counted here or
        # sees the flag down and schedules another drain. Only the items present now run,
        # so a busy worker cannot starve the loop.
        self._scheduled = False
        items = self._items
        for _ in range(len(items)):
            fn, args, answer = items.popleft()
            try:
                value = fn(*args)
            except Exception as exc:
                if answer is None:
                    log.exception("runtime: loop operation %s failed", getattr(fn, "__qualname__", fn))
                    continue
                answer.error = exc
                answer.done.release()
                continue
            if answer is not None:
                answer.value = value
                answer.done.release()
