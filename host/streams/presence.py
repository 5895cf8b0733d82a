"""Presences, their metadata and the events that describe their changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from .stream import StreamId

__all__ = ["PresenceReason", "PresenceMeta", "Presence", "PresenceEvent"]


class PresenceReason(IntEnum):
    """Why a presence last changed (Nakama's runtime.PresenceReason)."""

    UNKNOWN = 0
    JOIN = 1
    UPDATE = 2
    LEAVE = 3
    DISCONNECT = 4


@dataclass(slots=True, frozen=True)
class PresenceMeta:
    """What a caller says about a presence; the tracker stamps the reason."""

    hidden: bool = False
    persistence: bool = False
    username: str = ""
    status: str = ""
    reason: PresenceReason = PresenceReason.UNKNOWN


@dataclass(slots=True, eq=False)
class Presence:
    """One (session, stream, user) membership.

    The metadata is flattened into the presence (one object per membership keeps
    the tracker under 400 bytes a presence). Treat instances as immutable while
    they are tracked: an update replaces the object, so an event keeps the
    presence as it was. Only ``reason`` is stamped when the tracker removes it.
    """

    user_id: str
    session_id: str
    node: str
    stream: StreamId
    hidden: bool
    persistence: bool
    username: str
    status: str
    reason: PresenceReason

    @property
    def meta(self) -> PresenceMeta:
        return PresenceMeta(self.hidden, self.persistence, self.username, self.status, self.reason)

    def to_wire(self, with_status: bool = False) -> dict[str, Any]:
        """The client UserPresence form; status only travels on status streams, always set there."""
        out: dict[str, Any] = {"user_id": self.user_id, "session_id": self.session_id}
        if self.username:
            out["username"] = self.username
        if self.persistence:
            out["persistence"] = True
        if with_status:
            out["status"] = self.status  # a StringValue: written even when "" (nakama-features §0.1)
        return out


@dataclass(slots=True)
class PresenceEvent:
    """The visible joins and leaves one operation caused on one stream.

    Recipients are every session on the stream once the operation is applied:
    the joiner hears its own join, a leaver does not hear its own leave.
    """

    stream: StreamId
    joins: list[Presence] = field(default_factory=list)
    leaves: list[Presence] = field(default_factory=list)
