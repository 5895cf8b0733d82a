"""In-app notifications: stored when persistent, delivered live on the user's mode-0 stream.

Every socket is tracked, hidden, on ``{0, subject = its user}`` at connect, so a send
to that stream reaches every live session of the user, and a session the runtime took
off it ("silent mode": ``nk.stream_user_leave`` on mode 0) hears nothing live while its
persistent notifications are still stored. A batch is one envelope per user, after the
persistent ones were written in one statement: a failed write delivers nothing.

Notification times order the list (oldest first), so they are microseconds that never
repeat in one process, though clients see whole seconds, as Nakama shows them.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ...errors import ApiError, Code
from ...ids import random_uuid4
from ...streams import StreamId, StreamManager, StreamMode
from .rows import Change, NotificationRows

__all__ = [
    "Draft", "Notification", "NotificationsCore", "notification_stream", "SYSTEM_SENDER", "SEND_ALL_PAGE",
    "encode_cursor", "decode_cursor", "START",
]

log = logging.getLogger("nkhost.notifications")

SYSTEM_SENDER = "00000000-0000-0000-0000-000000000000"
SEND_ALL_PAGE = 10_000  # users per page of a persistent send to everyone, as Nakama
MAX_SUBJECT = 255  # the column Nakama stores it in
CODE_RANGE = range(-32768, 32768)  # SMALLINT


@dataclass(slots=True)
class Draft:
    """A notification to send: the core gives it its id and time."""

    user_id: str
    subject: str
    content: str  # a JSON object, as text
    code: int
    sender_id: str = ""  # "" (or the nil UUID): sent by the server
    persistent: bool = False


@dataclass(slots=True)
class Notification:
    id: str
    user_id: str
    subject: str
    content: str  # a JSON object, as text
    code: int
    sender_id: str = ""  # "" (or the nil UUID): sent by the server
    create_time: int = 0  # unix microseconds
    persistent: bool = False

    def to_wire(self) -> dict[str, Any]:
        """api.Notification: whole-second RFC 3339 time; no sender for server notifications.

        Nakama shows the nil UUID as the sender in the live push (and hides it when
        listing); both hide it here, which is what a client means by "no sender".
        """
        out: dict[str, Any] = {"id": self.id, "subject": self.subject, "content": self.content, "code": self.code}
        if self.sender_id and self.sender_id != SYSTEM_SENDER:
            out["sender_id"] = self.sender_id
        out["create_time"] = _rfc3339(self.create_time)
        if self.persistent:
            out["persistent"] = True
        return out


def _rfc3339(micros: int) -> str:
    return _whole_second(micros // 1_000_000)


@functools.lru_cache(maxsize=1024)
def _whole_second(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


@functools.lru_cache(maxsize=65536)
def notification_stream(user_id: str) -> StreamId:
    """Cached: a batch to many users would parse each id again in StreamId."""
    return StreamId(StreamMode.NOTIFICATIONS, user_id)


class NotificationsCore:
    __slots__ = ("streams", "rows", "_last_time", "_background")

    def __init__(self, streams: StreamManager, rows: NotificationRows) -> None:
        self.streams = streams
        self.rows = rows
        self._last_time = 0
        self._background: set[asyncio.Task[None]] = set()

    # Building ----------------------------------------------------------------------------

    def _stamp(self, drafts: Iterable[Draft]) -> list[Notification]:
        """Ids and times for a batch: one clock read, then strictly increasing microseconds."""
        clock = max(time.time_ns() // 1000, self._last_time + 1)
        out = []
        for draft in drafts:
            if draft.persistent:
                if len(draft.subject) > MAX_SUBJECT:
                    raise ApiError(Code.INVALID_ARGUMENT, f"subject must be {MAX_SUBJECT} characters or less to be persistent")
                if draft.code not in CODE_RANGE:
                    raise ApiError(Code.INVALID_ARGUMENT, "code must be between -32768 and 32767 to be persistent")
            sender = "" if draft.sender_id == SYSTEM_SENDER else draft.sender_id
            out.append(Notification(random_uuid4(), draft.user_id, draft.subject, draft.content, draft.code, sender, clock, draft.persistent))
            clock += 1
        self._last_time = clock - 1
        return out

    # Sending -----------------------------------------------------------------------------

    async def send(self, drafts: Iterable[Draft]) -> list[Notification]:
        """Store the persistent ones (one statement), then deliver every one, a user's in one envelope.

        Raises ApiError before anything is stored or sent when one of them cannot be stored.
        """
        notifications = self._stamp(drafts)
        stored = [n for n in notifications if n.persistent]
        if stored:
            await self.rows.insert(stored)
        self.deliver(notifications)
        return notifications

    def deliver(self, notifications: Iterable[Notification]) -> None:
        by_user: dict[str, list[dict[str, Any]]] = {}
        for n in notifications:
            by_user.setdefault(n.user_id, []).append(n.to_wire())
        router = self.streams.router
        for user_id, items in by_user.items():
            router.send_to_stream(notification_stream(user_id), {"notifications": {"notifications": items}})

    async def send_all(self, subject: str, content: str, code: int, persistent: bool) -> None:
        """To every user. Non-persistent: every live session on its notification stream (silent
        sessions stay silent, unlike Nakama's send-all). Persistent: every account gets its own
        copy, stored and delivered a page of users at a time in the background."""
        if not persistent:
            [sent] = self._stamp([Draft("", subject, content, code)])
            for user_id in self._online_users():
                self.deliver([Notification(sent.id, user_id, subject, content, code, "", sent.create_time, False)])
            return
        self._stamp([Draft("", subject, content, code, persistent=True)])  # refuse what cannot be stored now
        task = asyncio.get_running_loop().create_task(self._send_all_stored(subject, content, code))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _online_users(self) -> list[str]:
        users = {sink.user_id for sink in self.streams.router.sinks.values()}
        return [u for u in users if u and self.streams.count(notification_stream(u))]

    async def _send_all_stored(self, subject: str, content: str, code: int) -> None:
        after = ""
        try:
            while True:
                user_ids = await self.rows.user_ids_after(after, SEND_ALL_PAGE)
                if not user_ids:
                    return
                await self.send([Draft(uid, subject, content, code, persistent=True) for uid in user_ids])
                after = user_ids[-1]
        except Exception:
            log.exception("persistent notification to every user failed after user %r", after)

    async def close(self) -> None:
        """Let a persistent send-all in progress finish its pages (the store closes after)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    # Reading and removing ----------------------------------------------------------------

    async def page(self, user_id: str, limit: int, cursor: tuple[int, str] | None) -> list[Notification]:
        """The user's stored notifications after ``cursor`` (create time, id), oldest first."""
        return await self.rows.page(user_id, limit, cursor)

    async def delete(self, user_id: str | None, ids: list[str]) -> None:
        """Delete these notifications of ``user_id`` (of anyone with None)."""
        await self.rows.delete(user_id, ids)

    async def get(self, ids: list[str], user_id: str | None) -> list[Notification]:
        return await self.rows.get(ids, user_id)

    async def update(self, changes: list[Change]) -> None:
        """Change stored notifications only (no push), as Nakama's notifications_update."""
        await self.rows.update(changes)


# Cursors ----------------------------------------------------------------------------------
# Opaque to clients: base64url of "<create time>:<id>" of the last notification seen. Stable
# across restarts and the same on both database engines, so a client may keep it (Nakama's
# "cacheable cursor") and poll with it for newer notifications.


def encode_cursor(position: tuple[int, str]) -> str:
    return base64.urlsafe_b64encode(f"{position[0]}:{position[1]}".encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[int, str]:
    """Raises ApiError for anything ``encode_cursor`` did not make."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        stamp, _, nid = raw.partition(":")
        position = (int(stamp), str(uuid.UUID(nid)) if nid else "")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(Code.INVALID_ARGUMENT, "Cursor is invalid or expired.") from None
    if position[0] < 0 or encode_cursor(position) != text.rstrip("="):
        raise ApiError(Code.INVALID_ARGUMENT, "Cursor is invalid or expired.")
    return position


START = (0, "")  # the cursor of "from the beginning"
