"""Errors raised by the stream engine.

Hierarchy::

    StreamError
    ├── InvalidStream (also ValueError): a stream id field is malformed; names the field
    ├── SessionClosed: the session is unknown to the tracker or is closing
    ├── NodeNotFound: a session id that belongs to another node (or to none)
    └── SessionNotFound: a local-looking session id with no live session
"""

from __future__ import annotations

__all__ = ["StreamError", "InvalidStream", "SessionClosed", "NodeNotFound", "SessionNotFound"]


class StreamError(Exception):
    """Base class of every stream-engine error."""


class InvalidStream(StreamError, ValueError):
    """A stream id field is out of range or malformed.

    ``field`` names the offending field (mode, subject, subcontext, label) so a
    Lua binding or an API handler can turn it into Nakama's message.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"stream {field} {message}")
        self.field = field


class SessionClosed(StreamError):
    """Tracking was refused: the session is not open (never opened, or closing)."""


class NodeNotFound(StreamError):
    """The session id does not carry this node's hash (Nakama: "node not found")."""

    def __str__(self) -> str:
        return "node not found"


class SessionNotFound(StreamError):
    """The session id is local but no such session is connected."""

    def __str__(self) -> str:
        return "session not found"
