"""The StreamManager: Nakama's join/update/leave policy over a tracker and a router.

Every front door (Lua bindings, socket handlers, built-in features) goes through
here, so a mutation and the delivery of its events are one step: events reach
each recipient in the order the operations happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .errors import NodeNotFound, SessionNotFound
from .node import is_local_session, node_hash
from .presence import Presence, PresenceMeta, PresenceReason
from .router import Router, StreamData
from .sink import SessionSink
from .stream import StreamId
from .tracker import Tracker

__all__ = ["StreamManager"]


class StreamManager:
    __slots__ = ("tracker", "router", "node", "_hash")

    def __init__(self, tracker: Tracker, router: Router) -> None:
        self.tracker = tracker
        self.router = router
        self.node = tracker.node
        self._hash = node_hash(self.node)

    # Sessions (called by the network layer) -------------------------------------

    def connect(self, sink: SessionSink) -> None:
        """Make a session known: it can now join streams and receive data."""
        self.router.register(sink)
        self.tracker.open_session(sink.session_id)

    def disconnect(self, session_id: str, reason: PresenceReason = PresenceReason.DISCONNECT) -> None:
        """Leave every stream (one batched leave per stream), then forget the sink."""
        events = self.tracker.close_session(session_id, reason)
        self.router.unregister(session_id)
        self.router.publish(events)

    # Stream membership ------------------------------------------------------------

    def _meta(self, session_id: str, hidden: bool, persistence: bool, status: str) -> PresenceMeta:
        """The metadata of a join or update; the username is the session's (Nakama ignores the caller's)."""
        if not is_local_session(session_id, self._hash):
            raise NodeNotFound()
        sink = self.router.sink(session_id)
        if sink is None:
            raise SessionNotFound()
        return PresenceMeta(hidden, persistence, sink.username, status)

    def user_join(
        self,
        stream: StreamId,
        user_id: str,
        session_id: str,
        hidden: bool = False,
        persistence: bool = True,
        status: str = "",
        before_events: Callable[[], None] | None = None,
    ) -> bool:
        """Track the presence; True when new. The username comes from the session.
        ``before_events`` runs once tracked, before the presence events go out: a join's
        reply written there reaches the joiner before its own join event, as in Nakama.

        Raises NodeNotFound, SessionNotFound, or SessionClosed (closing session).
        """
        is_new, events = self.tracker.track(session_id, stream, user_id, self._meta(session_id, hidden, persistence, status))
        if before_events is not None:
            before_events()
        self.router.publish(events)
        return is_new

    def user_update(
        self,
        stream: StreamId,
        user_id: str,
        session_id: str,
        hidden: bool = False,
        persistence: bool = True,
        status: str = "",
    ) -> None:
        """Upsert the presence metadata (works even if the user never joined)."""
        self.router.publish(self.tracker.update(session_id, stream, user_id, self._meta(session_id, hidden, persistence, status)))

    def user_leave(self, stream: StreamId, user_id: str, session_id: str) -> None:
        """Untrack; a no-op when absent. Only the node is checked, as Nakama does."""
        if not is_local_session(session_id, self._hash):
            raise NodeNotFound()
        self.router.publish(self.tracker.untrack(session_id, stream, user_id))

    def user_kick(self, stream: StreamId, user_id: str, session_id: str) -> None:
        """A plain leave: the socket stays open."""
        self.user_leave(stream, user_id, session_id)

    def close(self, stream: StreamId) -> int:
        """Remove everyone; no presence events ("everyone is going away at once")."""
        return self.tracker.close_stream(stream)

    # Queries ------------------------------------------------------------------------

    def count(self, stream: StreamId) -> int:
        return self.tracker.count(stream)

    def list(self, stream: StreamId, include_hidden: bool = True, include_not_hidden: bool = True) -> list[Presence]:
        return self.tracker.list(stream, include_hidden, include_not_hidden)

    def get(self, session_id: str, stream: StreamId, user_id: str) -> PresenceMeta | None:
        return self.tracker.get(session_id, stream, user_id)

    # Data ---------------------------------------------------------------------------

    def send(self, stream: StreamId, data: str, session_ids: Iterable[str] | None = None, reliable: bool = True) -> int:
        """stream_send: to every member, or to chosen sessions (no membership check)."""
        message = StreamData(stream, data, reliable)
        if session_ids is None:
            return self.router.send_to_stream(stream, message, reliable)
        return self.router.send_to_sessions(session_ids, message, reliable)
