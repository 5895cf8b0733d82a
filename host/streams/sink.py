"""Session sinks: the engine's only view of a connection.

A sink takes already-encoded bytes. It has a bounded outgoing buffer counted in
bytes; when a send would overflow it, the sink refuses it, marks itself
overflowed and reports once, so the network layer closes exactly that
connection. Nothing meant for other recipients is held back or dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["SessionSink", "MemorySink", "DEFAULT_MAX_BUFFER"]

DEFAULT_MAX_BUFFER = 1 << 20  # 1 MiB, Centrifugo's default per-connection queue


@runtime_checkable
class SessionSink(Protocol):
    session_id: str
    user_id: str
    username: str

    def send(self, data: bytes, reliable: bool = True) -> bool:
        """Queue ``data``; False when it was not queued.

        An unreliable message may be skipped while the transport is paused; a
        reliable one is only refused on overflow, and then the sink reports the
        overflow (its connection will be closed). Must never block and never
        re-enter the engine synchronously.
        """


class MemorySink:
    """A sink that keeps what it is sent: for tests and in-process benchmarks."""

    __slots__ = ("session_id", "user_id", "username", "max_bytes", "buffered", "messages", "overflowed", "paused", "on_overflow")

    def __init__(
        self,
        session_id: str,
        user_id: str = "",
        username: str = "",
        max_bytes: int = DEFAULT_MAX_BUFFER,
        on_overflow: Callable[[MemorySink], None] | None = None,
    ) -> None:
        self.session_id = session_id
        self.user_id = user_id
        self.username = username
        self.max_bytes = max_bytes
        self.buffered = 0
        self.messages: list[bytes] = []
        self.overflowed = False
        self.paused = False
        self.on_overflow = on_overflow

    def send(self, data: bytes, reliable: bool = True) -> bool:
        if self.overflowed:
            return False
        if self.paused and not reliable:
            return False
        size = len(data)
        if self.buffered + size > self.max_bytes:
            self.overflowed = True
            if self.on_overflow is not None:
                self.on_overflow(self)
            return False
        self.buffered += size
        self.messages.append(data)
        return True

    def drain(self) -> list[bytes]:
        """Hand over what is queued, as a socket write would, freeing the budget."""
        out, self.messages, self.buffered = self.messages, [], 0
        return out
