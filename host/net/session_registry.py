"""The live realtime sessions of this node, by session id.

The engine's Router knows sinks; this registry knows sockets, for what only
the net layer does with them: ``nk.session_disconnect``, shutdown (close every
socket with a frame), the keepalive sweep and counting.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .socket import WebSocketSession

__all__ = ["SessionRegistry"]


class SessionRegistry:
    __slots__ = ("_sessions",)

    def __init__(self) -> None:
        self._sessions: dict[str, WebSocketSession] = {}

    def add(self, session: WebSocketSession) -> None:
        self._sessions[session.session_id] = session

    def remove(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def get(self, session_id: str) -> WebSocketSession | None:
        return self._sessions.get(session_id)

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Iterator[WebSocketSession]:
        """A snapshot: closing a session while iterating is safe."""
        return iter(list(self._sessions.values()))
