"""The in-memory Tracker: two indexes kept in step, by stream and by session."""

from __future__ import annotations

from .errors import SessionClosed
from .presence import Presence, PresenceEvent, PresenceMeta, PresenceReason
from .stream import StreamId

__all__ = ["MemoryTracker"]

_JOIN = PresenceReason.JOIN
_UPDATE = PresenceReason.UPDATE
_LEAVE = PresenceReason.LEAVE
_SET_AFTER = 16


class MemoryTracker:
    """See Tracker. Single-threaded: call it from one thread (the event loop)."""

    __slots__ = ("node", "_by_stream", "_by_session", "_open", "_total")

    def __init__(self, node: str = "nakama") -> None:
        self.node = node
        # stream -> (session_id, user_id) -> presence. Empty inner dicts are
        # deleted at once, so a stream exists exactly while it has a member.
        self._by_stream: dict[StreamId, dict[tuple[str, str], Presence]] = {}
        # session_id -> its presences, so a disconnect is one lookup. A list while
        # small (a 1-item set costs 216 bytes, a list 64: it kept the tracker
        # under 400 bytes a presence), an identity set past _SET_AFTER items.
        self._by_session: dict[str, list[Presence] | set[Presence]] = {}
        self._open: set[str] = set()
        self._total = 0

    # Sessions ---------------------------------------------------------------

    def open_session(self, session_id: str) -> None:
        self._open.add(session_id)

    def close_session(self, session_id: str, reason: PresenceReason = PresenceReason.DISCONNECT) -> list[PresenceEvent]:
        self._open.discard(session_id)
        return self.untrack_all(session_id, reason)

    def is_open(self, session_id: str) -> bool:
        return session_id in self._open

    # Mutations --------------------------------------------------------------

    def track(self, session_id: str, stream: StreamId, user_id: str, meta: PresenceMeta) -> tuple[bool, list[PresenceEvent]]:
        if session_id not in self._open:
            raise SessionClosed(session_id)
        members = self._by_stream.get(stream)
        key = (session_id, user_id)
        if members is None:
            members = self._by_stream[stream] = {}
        elif key in members:
            return False, []
        p = Presence(user_id, session_id, self.node, stream, meta.hidden, meta.persistence, meta.username, meta.status, _JOIN)
        self._insert(members, key, p)
        if p.hidden:
            return True, []
        return True, [PresenceEvent(stream, [p], [])]

    def update(self, session_id: str, stream: StreamId, user_id: str, meta: PresenceMeta) -> list[PresenceEvent]:
        if session_id not in self._open:
            raise SessionClosed(session_id)
        members = self._by_stream.get(stream)
        if members is None:
            members = self._by_stream[stream] = {}
        key = (session_id, user_id)
        prev = members.get(key)
        p = Presence(user_id, session_id, self.node, stream, meta.hidden, meta.persistence, meta.username, meta.status, _UPDATE)
        if prev is None:
            self._insert(members, key, p)
        else:
            members[key] = p
            self._by_session[session_id].remove(prev)
            self._own(p)
            prev.reason = _UPDATE
        joins = [] if p.hidden else [p]
        leaves = [prev] if prev is not None and not prev.hidden else []
        if joins or leaves:
            return [PresenceEvent(stream, joins, leaves)]
        return []

    def untrack(self, session_id: str, stream: StreamId, user_id: str, reason: PresenceReason = _LEAVE) -> list[PresenceEvent]:
        members = self._by_stream.get(stream)
        if members is None:
            return []
        p = members.pop((session_id, user_id), None)
        if p is None:
            return []
        if not members:
            del self._by_stream[stream]
        own = self._by_session[session_id]
        own.remove(p)
        if not own:
            del self._by_session[session_id]
        self._total -= 1
        p.reason = reason
        if p.hidden:
            return []
        return [PresenceEvent(stream, [], [p])]

    def untrack_all(self, session_id: str, reason: PresenceReason = _LEAVE) -> list[PresenceEvent]:
        own = self._by_session.pop(session_id, None)
        if not own:
            return []
        events: dict[StreamId, PresenceEvent] = {}
        by_stream = self._by_stream
        for p in own:
            stream = p.stream
            members = by_stream[stream]
            del members[(session_id, p.user_id)]
            if not members:
                del by_stream[stream]
            p.reason = reason
            if not p.hidden:
                event = events.get(stream)
                if event is None:
                    events[stream] = PresenceEvent(stream, [], [p])
                else:
                    event.leaves.append(p)
        self._total -= len(own)
        return list(events.values())

    def close_stream(self, stream: StreamId) -> int:
        members = self._by_stream.pop(stream, None)
        if not members:
            return 0
        for (session_id, _), p in members.items():
            own = self._by_session[session_id]
            own.remove(p)
            if not own:
                del self._by_session[session_id]
            p.reason = _LEAVE
        self._total -= len(members)
        return len(members)

    def _insert(self, members: dict[tuple[str, str], Presence], key: tuple[str, str], p: Presence) -> None:
        members[key] = p
        self._own(p)
        self._total += 1

    def _own(self, p: Presence) -> None:
        """Index the presence under its session."""
        own = self._by_session.get(p.session_id)
        if own is None:
            self._by_session[p.session_id] = [p]
        elif type(own) is list:
            own.append(p)
            if len(own) > _SET_AFTER:
                self._by_session[p.session_id] = set(own)
        else:
            own.add(p)

    # Queries ----------------------------------------------------------------

    def count(self, stream: StreamId) -> int:
        members = self._by_stream.get(stream)
        return len(members) if members else 0

    def list(self, stream: StreamId, include_hidden: bool = True, include_not_hidden: bool = True) -> list[Presence]:
        members = self._by_stream.get(stream)
        if not members:
            return []
        if include_hidden and include_not_hidden:
            return list(members.values())
        if not include_hidden and not include_not_hidden:
            return []
        # Exactly one flag is set here: keep the presences whose hidden flag matches it.
        return [p for p in members.values() if bool(p.hidden) == bool(include_hidden)]

    def get(self, session_id: str, stream: StreamId, user_id: str) -> PresenceMeta | None:
        members = self._by_stream.get(stream)
        if members is None:
            return None
        p = members.get((session_id, user_id))
        return None if p is None else p.meta

    def streams_of(self, session_id: str) -> list[StreamId]:
        own = self._by_session.get(session_id)
        return list({p.stream: None for p in own}) if own else []

    def recipients(self, stream: StreamId) -> list[str]:
        members = self._by_stream.get(stream)
        # A session holding two user ids on a stream hears each message once
        # (Nakama lists it twice and delivers twice).
        return list(dict.fromkeys(sid for sid, _ in members)) if members else []

    def streams(self) -> list[StreamId]:
        return list(self._by_stream)

    def sessions(self) -> list[str]:
        return list(self._by_session)

    def total(self) -> int:
        return self._total
