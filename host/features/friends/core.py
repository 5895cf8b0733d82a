"""Friends: the user graph that direct messages, status and clients build on.

Every operation on a list of targets is one transaction: for each target it locks both
users' rows, reads the pair's two directions, applies the state machine (``edges.py``) and
writes the difference, so nothing is half-written and two requests about one pair take
turns. Notifications (friend request, accepted, removed) are sent once the transaction has
committed, as Nakama sends them; a failed send is logged and does not undo the change.
Blocking also closes the pair's direct-message stream, without presence events.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from ...accounts.users import valid_ids
from ...errors import ApiError, Code
from ...storage import Database, Queries
from ...streams import StreamId, StreamManager, StreamMode
from ..edge_cursor import EdgeCursor, decode_edge_cursor, encode_edge_cursor
from ..notifications.core import Draft
from . import edges, store
from .store import Friend

__all__ = ["NAME", "Friend", "FriendsCore", "dm_stream", "CURSOR_INVALID"]

log = logging.getLogger("nkhost.friends")

NAME = "friends"
CURSOR_INVALID = "Cursor is invalid."

_SUBJECTS = {
    edges.REQUEST: "{} wants to add you as a friend",
    edges.ACCEPTED: "{} accepted your friend request",
    edges.REMOVED: "{} removed you as a friend",
}


def dm_stream(a: str, b: str) -> StreamId:
    """The direct-message stream of two users: the smaller id is the subject (as Nakama)."""
    low, high = sorted((a, b))
    return StreamId(StreamMode.DM, low, high)


Step = Callable[[int | None, int | None], edges.Step]


class FriendsCore:
    __slots__ = ("db", "streams", "users", "notifications", "_last_position")

    def __init__(self, db: Database, streams: StreamManager, users: Any, notifications: Any) -> None:
        self.db = db
        self.streams = streams
        self.users = users  # host.features.users.UsersCore
        self.notifications = notifications  # host.features.notifications.NotificationsCore
        self._last_position = 0

    def _position(self) -> int:
        """Unix nanoseconds that never repeat in this process: the listing order."""
        self._last_position = max(time.time_ns(), self._last_position + 1)
        return self._last_position

    # Changes -----------------------------------------------------------------------------

    async def add(self, user_id: str, username: str, ids: Sequence[str], metadata: str = "") -> None:
        """Invite each target, or accept its invite. ``metadata`` (a JSON object, "" for none)
        is stored on the caller's edge; accepting merges it into what is there."""
        sent = await self._change(user_id, ids, edges.add, metadata)
        await self._notify(user_id, username, sent)

    async def delete(self, user_id: str, username: str, ids: Sequence[str]) -> None:
        """Remove the caller's edge to each target (an unblock too) and theirs unless it is a block."""
        sent = await self._change(user_id, ids, edges.delete, "")
        await self._notify(user_id, username, sent)

    async def block(self, user_id: str, ids: Sequence[str]) -> None:
        blocked = await self._change(user_id, ids, edges.block, "")
        for target, _ in blocked:
            self.streams.close(dm_stream(user_id, target))

    async def _change(self, user_id: str, ids: Sequence[str], step: Step, metadata: str) -> list[tuple[str, int | None]]:
        """Apply ``step`` to each existing target; the (target, notification) of each one changed."""
        targets = [t for t in valid_ids(ids) if t != user_id]
        dialect = self.db.dialect

        async def body(tx: Queries) -> list[tuple[str, int | None]]:
            changed = []
            now = int(time.time())
            for target in targets:
                if target not in await store.lock_users(tx, dialect, [user_id, target]):
                    continue
                pair = await store.read_pair(tx, user_id, target)
                after = step(pair.mine, pair.theirs)
                if (after.mine, after.theirs) == (pair.mine, pair.theirs):
                    continue
                mine_meta = _edge_metadata(pair, after.mine, metadata)
                await store.apply(tx, user_id, target, pair, after.mine, after.theirs, mine_meta, now, self._position())
                changed.append((target, after.notify))
            return changed

        return await self.db.transact(body) if targets else []

    async def _notify(self, user_id: str, username: str, changed: list[tuple[str, int | None]]) -> None:
        content = orjson.dumps({"username": username}).decode()
        drafts = [
            Draft(target, _SUBJECTS[code].format(username), content, code, user_id, persistent=True)
            for target, code in changed
            if code is not None
        ]
        if not drafts:
            return
        try:
            await self.notifications.send(drafts)
        except Exception:
            log.exception("friend notifications from %s were not sent", user_id)

    async def set_metadata(self, user_id: str, friend_id: str, metadata: str) -> None:
        """Replace the metadata of the caller's edge to ``friend_id`` (no edge: no change)."""
        await store.set_metadata(self.db, user_id, friend_id, metadata)

    # Reads -------------------------------------------------------------------------------

    async def list(self, user_id: str, limit: int, state: int | None, cursor: str) -> tuple[list[Friend], str]:
        """A page of the user's edges ordered by state then age, and the next page's cursor
        ("" after the last page). Raises ApiError 3 for a cursor this listing did not make
        (or made for another state filter)."""
        found, next_cursor = await self.page(user_id, limit, state, cursor)
        self.users.mark_online(found)
        return found, next_cursor

    async def page(self, user_id: str, limit: int, state: int | None, cursor: str) -> tuple[list[Friend], str]:
        """``list`` without ``online`` (database work only: it may run off the loop)."""
        after = _cursor(cursor, state)
        found = await store.page(self.db, user_id, limit + 1, state, after)
        next_cursor = encode_edge_cursor(store.edge_key(found[limit])) if len(found) > limit else ""
        return found[:limit], next_cursor

    async def state(self, source: str, destination: str) -> int | None:
        """``source``'s edge to ``destination`` (None when there is none): chat asks whether a
        user blocked another before a direct message."""
        return await store.state_of(self.db, source, destination)


def _cursor(text: str, state: int | None) -> EdgeCursor | None:
    if not text:
        return None
    cursor = decode_edge_cursor(text, edges.BLOCKED)
    if cursor is None or (state is not None and cursor.state != state):
        raise ApiError(Code.INVALID_ARGUMENT, CURSOR_INVALID)
    return cursor


def _edge_metadata(pair: store.Pair, mine: int | None, metadata: str) -> str | None:
    """The caller's edge metadata to write, None to leave it: a new edge takes ``metadata``;
    an accepted invite merges it into its own."""
    if mine is None or mine == edges.BLOCKED:
        return None
    if pair.mine is None:
        return metadata or "{}"
    return store.merged(pair.my_metadata, metadata) if metadata else None
