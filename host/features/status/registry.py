"""Who follows whose status: the recipients of ``status_presence_event``.

Nakama sends status-stream (mode 1) presence changes not to the stream's
members but to every session that follows the user the stream is about
(``statusRegistry.Queue``). Every socket follows its own user on connect.
The Router asks ``recipients(event)`` for mode-1 events.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...streams.presence import PresenceEvent

__all__ = ["StatusRegistry"]


class StatusRegistry:
    """Two indexes kept in step: user -> followers, session -> followed users.

    Called on the loop thread only, like the engine.
    """

    __slots__ = ("_followers", "_following")

    def __init__(self) -> None:
        self._followers: dict[str, set[str]] = {}
        self._following: dict[str, set[str]] = {}

    def follow(self, session_id: str, user_ids: Iterable[str]) -> None:
        following = self._following.setdefault(session_id, set())
        for user_id in user_ids:
            following.add(user_id)
            self._followers.setdefault(user_id, set()).add(session_id)

    def unfollow(self, session_id: str, user_ids: Iterable[str]) -> None:
        following = self._following.get(session_id)
        if following is None:
            return
        for user_id in user_ids:
            following.discard(user_id)
            self._drop_follower(user_id, session_id)
        if not following:
            del self._following[session_id]

    def unfollow_all(self, session_id: str) -> None:
        """Forget a closing session (Nakama's ``UnfollowAll``)."""
        for user_id in self._following.pop(session_id, ()):
            self._drop_follower(user_id, session_id)

    def followers(self, user_id: str) -> list[str]:
        return list(self._followers.get(user_id, ()))

    def recipients(self, event: PresenceEvent) -> list[str]:
        """The Router's chooser for status streams: the followers of the stream's user."""
        return self.followers(event.stream.subject or "")

    def _drop_follower(self, user_id: str, session_id: str) -> None:
        followers = self._followers.get(user_id)
        if followers is not None:
            followers.discard(session_id)
            if not followers:
                del self._followers[user_id]
