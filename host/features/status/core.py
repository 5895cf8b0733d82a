"""Status (stream mode 1): who is online with what status, and who hears about it.

A session is "online" while it has a presence on its user's status stream
``{1, subject = user}``: ``/ws?status=true`` tracks it at connect with status "",
``status_update`` upserts it (a new status) or removes it (no status: "appear
offline"). The engine's Router sends that stream's presence events not to its
members but to the sessions following the user (``StatusRegistry.recipients``), as
``status_presence_event``. Follows are per session, in memory, and dropped on
disconnect; every socket follows its own user at connect (and cannot unfollow it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from ...errors import ApiError, Code
from ...streams import Presence, SessionClosed, StreamId, StreamManager, StreamMode
from .registry import StatusRegistry

__all__ = ["StatusCore", "MAX_STATUS_BYTES", "status_stream"]

MAX_STATUS_BYTES = 2048  # Nakama counts bytes, though its message says characters
_NIL_UUID = "00000000-0000-0000-0000-000000000000"


def status_stream(user_id: str) -> StreamId:
    return StreamId(StreamMode.STATUS, user_id)


def _user_id(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except (ValueError, AttributeError, TypeError):
        raise ApiError(Code.INVALID_ARGUMENT, "Invalid user identifier") from None


class StatusCore:
    """The status rules over the stream engine, the follow registry and the account store."""

    __slots__ = ("streams", "registry", "store")

    def __init__(self, streams: StreamManager, registry: StatusRegistry, store: Any) -> None:
        self.streams = streams
        self.registry = registry
        self.store = store

    async def follow(self, session_id: str, user_id: str, username: str, user_ids: list[str], usernames: list[str]) -> list[Presence] | None:
        """Follow existing users by id or username; their current status presences.

        None when there was nothing to follow (the reply is then an empty ``status``).
        Unknown users are ignored, as Nakama does; yourself is skipped.
        """
        ids = []
        for text in user_ids:
            uid = _user_id(text)
            if uid != user_id and uid != _NIL_UUID:
                ids.append(uid)
        names = []
        for name in usernames:
            if name == "":
                raise ApiError(Code.INVALID_ARGUMENT, "Invalid username")
            if name != username:
                names.append(name)
        if not ids and not names:
            return None
        try:
            found = await self._existing(ids, names)
        except Exception as exc:
            raise ApiError(Code.INTERNAL, "Could not check users") from exc
        found.discard(user_id)
        self.registry.follow(session_id, found)
        return [p for uid in sorted(found) for p in self.streams.list(status_stream(uid), include_hidden=False)]

    async def _existing(self, ids: Iterable[str], names: Iterable[str]) -> set[str]:
        found = set()
        for uid in dict.fromkeys(ids):
            if await self.store.get_account(uid) is not None:
                found.add(uid)
        for name in dict.fromkeys(names):
            account = await self.store.account_by_username(name)
            if account is not None:
                found.add(account.id)
        return found

    def unfollow(self, session_id: str, user_id: str, user_ids: list[str]) -> None:
        """Stop following; unknown ids are no-ops and your own user stays followed."""
        ids = [uid for uid in map(_user_id, user_ids) if uid != user_id]
        self.registry.unfollow(session_id, ids)

    def update(self, session_id: str, user_id: str, status: str | None) -> None:
        """Set the session's status (an upsert), or go offline with None."""
        stream = status_stream(user_id)
        if status is None:
            self.streams.user_leave(stream, user_id, session_id)
            return
        if len(status.encode()) > MAX_STATUS_BYTES:
            raise ApiError(Code.INVALID_ARGUMENT, f"Status must be {MAX_STATUS_BYTES} characters or less")
        try:
            self.streams.user_update(stream, user_id, session_id, hidden=False, persistence=False, status=status)
        except SessionClosed:
            raise ApiError(Code.INTERNAL, "Error tracking status update") from None

    def online(self, user_ids: Iterable[str]) -> set[str]:
        """The users among ``user_ids`` (canonical UUIDs, as the database gives them) with a
        status presence: what ``online`` means in Nakama. Listings ask it for every row, so
        the stream keys are made without re-validating each id."""
        count, key = self.streams.count, StreamId._make
        return {uid for uid in user_ids if count(key((StreamMode.STATUS, uid, None, "")))}
