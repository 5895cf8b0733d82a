"""The chat writer: persistent messages stored in batches, every channel's pushes in order.

A persistent message is pushed only once it is durable, and its sender is acknowledged only
after the push (push before ack, nakama-features.md §0.1). Storing each message in its own
transaction would cost a database round trip (and on PostgreSQL a commit) per message, so
messages wait in one queue: while a batch is being written, the messages that arrive queue
behind it, and the next batch is written with a single ``executemany``. An idle server writes
a lone message at once; under load a batch holds whatever arrived during the previous write.

Order: a channel's messages are pushed in the order they were accepted (their create times),
so a message that needs no write (a non-persistent one, an update, a system message) but
arrives while earlier messages of its channel are still queued waits behind them; on a
channel with nothing queued it is pushed at once, with no task switch.

If a batch fails, each of its messages is written alone, so one bad row (PostgreSQL refusing
a username longer than its column) fails only its own message; when the database is
unavailable the whole batch fails at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...storage import DatabaseError, DatabaseUnavailable
from ...streams import Router, StreamId
from . import store
from .message import Message

__all__ = ["ChannelWriter", "BATCH_LIMIT"]

log = logging.getLogger("nkhost.chat")

BATCH_LIMIT = 512  # messages per statement


@dataclass(slots=True)
class _Entry:
    stream: StreamId
    envelope: dict[str, Any]
    stored: Message | None  # written before the push
    done: asyncio.Future[None] | None  # settled after the push (None: nobody waits)


class ChannelWriter:
    __slots__ = ("db", "router", "batches", "_queue", "_queued", "_task")

    def __init__(self, db: Any, router: Router) -> None:
        self.db = db
        self.router = router
        self.batches = 0  # statements that stored messages (tests and benchmarks)
        self._queue: list[_Entry] = []
        self._queued: dict[StreamId, int] = {}  # stream -> its entries in the queue
        self._task: asyncio.Task[None] | None = None

    def push(self, stream: StreamId, envelope: dict[str, Any]) -> None:
        """Deliver to the stream's members now, or behind its messages still being stored."""
        if self._queued.get(stream):
            self._enqueue(_Entry(stream, envelope, None, None))
        else:
            self.router.send_to_stream(stream, envelope)

    async def store(self, message: Message) -> None:
        """Store the message, then push it; returns after the push. Raises DatabaseError
        (and nothing was pushed) when it could not be stored."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._enqueue(_Entry(message.channel.stream, message.push(), message, done))
        await done

    async def close(self) -> None:
        """Finish the messages already accepted (before the database closes)."""
        while self._task is not None:
            await asyncio.shield(self._task)

    def _enqueue(self, entry: _Entry) -> None:
        self._queue.append(entry)
        self._queued[entry.stream] = self._queued.get(entry.stream, 0) + 1
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._queue[:BATCH_LIMIT]
                del self._queue[:BATCH_LIMIT]
                stored = [e.stored for e in batch if e.stored is not None]
                try:
                    failed = await self._write(stored)
                except Exception as exc:  # a bug: fail this batch's messages, never leave them waiting
                    log.exception("chat writer failed")
                    error = DatabaseError(f"internal error in the chat writer: {exc}")
                    failed = {id(m): error for m in stored}
                for entry in batch:
                    self._deliver(entry, failed.get(id(entry.stored)) if entry.stored is not None else None)
        finally:
            self._task = None

    def _deliver(self, entry: _Entry, error: DatabaseError | None) -> None:
        left = self._queued[entry.stream] - 1
        if left:
            self._queued[entry.stream] = left
        else:
            del self._queued[entry.stream]
        done = entry.done
        if error is None:
            try:
                self.router.send_to_stream(entry.stream, entry.envelope)
            except Exception:  # a bug: the drain must go on for the other channels
                log.exception("chat push to %s failed", entry.stream)
        if done is not None and not done.done():  # done: the waiting request was cancelled
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)

    async def _write(self, messages: Sequence[Message]) -> dict[int, DatabaseError]:
        """Store the messages; the failure of each one that was not stored, by id()."""
        if not messages:
            return {}
        try:
            await store.insert(self.db, messages)
            self.batches += 1
            return {}
        except DatabaseUnavailable as exc:
            return {id(m): exc for m in messages}
        except DatabaseError as exc:
            if len(messages) == 1:
                return {id(messages[0]): exc}
        failed: dict[int, DatabaseError] = {}
        for i, m in enumerate(messages):
            try:
                await store.insert(self.db, [m])
                self.batches += 1
            except DatabaseUnavailable as exc:
                failed.update((id(rest), exc) for rest in messages[i:])
                break
            except DatabaseError as exc:
                failed[id(m)] = exc
        if failed:
            log.warning("%d of %d chat messages were not stored: %s", len(failed), len(messages), next(iter(failed.values())))
        return failed
