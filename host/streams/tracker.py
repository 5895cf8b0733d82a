"""The Tracker interface: who is on which stream, and the events that changes cause.

A tracker is synchronous and does no I/O. Every mutation returns the presence
events it caused; the caller hands them to the Router straight away, so each
recipient sees events in the order the operations happened (Nakama queues them
asynchronously and drops the whole queue when 1,024 back up).

The memory engine lives in ``tracker_memory.py``; a Redis engine for several
nodes implements the same Protocol from its own package. The interface is
synchronous on purpose: the order of events is decided where the operation
happens. A multi-node engine therefore keeps its own node's presences in memory
(authoritative for local sessions, answering these calls at once) and mirrors
them to Redis asynchronously, merging other nodes' presences from pub/sub into
``list``/``count``; callers do not change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from .presence import Presence, PresenceEvent, PresenceMeta, PresenceReason
from .stream import StreamId

__all__ = ["Tracker"]


@runtime_checkable
class Tracker(Protocol):
    node: str

    # Sessions ---------------------------------------------------------------

    def open_session(self, session_id: str) -> None:
        """Allow presences for this session; until then track/update raise SessionClosed."""

    def close_session(self, session_id: str, reason: PresenceReason = PresenceReason.DISCONNECT) -> list[PresenceEvent]:
        """Refuse further tracking for the session and remove all its presences.

        Returns one event per stream the session was on, holding all its visible
        leaves with ``reason`` (a disconnect).
        """

    # Mutations --------------------------------------------------------------

    def track(self, session_id: str, stream: StreamId, user_id: str, meta: PresenceMeta) -> tuple[bool, list[PresenceEvent]]:
        """Add a presence; returns (is_new, events).

        An existing (session, stream, user) is left as it is, old metadata kept,
        and reported as not new. Raises SessionClosed if the session is not open.
        """

    def update(self, session_id: str, stream: StreamId, user_id: str, meta: PresenceMeta) -> list[PresenceEvent]:
        """Upsert the metadata. The event holds the new presence in joins and the
        old one in leaves, each only when visible. Raises SessionClosed."""

    def untrack(self, session_id: str, stream: StreamId, user_id: str, reason: PresenceReason = PresenceReason.LEAVE) -> list[PresenceEvent]:
        """Remove one presence; a no-op when it is not tracked."""

    def untrack_all(self, session_id: str, reason: PresenceReason = PresenceReason.LEAVE) -> list[PresenceEvent]:
        """Remove every presence of the session, one event per stream."""

    def close_stream(self, stream: StreamId) -> int:
        """Remove everyone from the stream without any event; returns how many left."""

    # Queries ----------------------------------------------------------------

    def count(self, stream: StreamId) -> int:
        """Members of the stream, hidden ones included."""

    def list(self, stream: StreamId, include_hidden: bool = True, include_not_hidden: bool = True) -> list[Presence]:
        """Members filtered by the hidden flag; both False gives an empty list."""

    def get(self, session_id: str, stream: StreamId, user_id: str) -> PresenceMeta | None:
        """The metadata of one presence, or None."""

    def streams_of(self, session_id: str) -> list[StreamId]:
        """Every stream the session is on."""

    def recipients(self, stream: StreamId) -> Iterable[str]:
        """Session ids to deliver to: every member, hidden ones included, each once."""

    def total(self) -> int:
        """All presences tracked on this node."""
