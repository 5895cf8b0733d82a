"""Channel history pages and their cursors (nakama-features.md §1.10).

A page is ordered by (create time, id): oldest first when ``forward``, newest first
otherwise. A cursor is a position (create time, id) in one channel's history, made for one
direction: ``next`` continues beyond it in that direction; a ``prev`` cursor (the first
message of a page listed with a cursor) returns the page before it, in the same display
order. The ``cacheable`` cursor is a forward ``next`` cursor after the page's last message:
polling with it returns only what came after. Cursors are opaque to clients: base64url of a
JSON list, checked field by field when they come back.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field, replace

import orjson

from ...errors import ApiError, Code
from ...storage import Queries
from . import store
from .channel import Channel
from .message import Message

__all__ = ["Cursor", "Page", "decode_cursor", "list_page", "CURSOR_INVALID"]

CURSOR_INVALID = "Cursor is invalid or expired."


@dataclass(frozen=True, slots=True)
class Cursor:
    channel_id: str
    create_time: int
    message_id: str
    forward: bool
    next: bool

    def encode(self) -> str:
        raw = orjson.dumps([self.channel_id, self.create_time, self.message_id, self.forward, self.next])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, channel: Channel, forward: bool) -> Cursor:
    """A cursor this listing made for this channel and direction; ApiError 3 otherwise."""
    try:
        value = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        value = None
    if (
        type(value) is not list or len(value) != 5 or [type(v) for v in value] != [str, int, str, bool, bool]
        or value[0] != channel.id or value[3] is not forward or value[1] < 0
    ):
        raise ApiError(Code.INVALID_ARGUMENT, CURSOR_INVALID)
    try:
        message_id = str(uuid.UUID(value[2]))
    except ValueError:
        raise ApiError(Code.INVALID_ARGUMENT, CURSOR_INVALID) from None
    return Cursor(channel.id, value[1], message_id, forward, value[4])


@dataclass(slots=True)
class Page:
    messages: list[Message] = field(default_factory=list)
    next_cursor: str = ""
    prev_cursor: str = ""
    cacheable_cursor: str = ""


def _at(message: Message, forward: bool, next: bool) -> Cursor:
    return Cursor(message.channel.id, message.create_time, message.id, forward, next)


async def list_page(db: Queries, channel: Channel, limit: int, forward: bool, cursor: Cursor | None) -> Page:
    """One page of the channel's stored messages (``limit`` 1-100)."""
    back = cursor is not None and not cursor.next  # the page before a cursor, read backwards
    after = None if cursor is None else (cursor.create_time, cursor.message_id)
    rows = await store.page(db, channel, after, forward != back, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    if back:
        rows.reverse()
    page = Page(rows)
    if rows:
        first, last = rows[0], rows[-1]
        if more or back:  # back: the page the cursor came from follows this one
            page.next_cursor = _at(last, forward, True).encode()
        if cursor is not None and (more or not back):
            page.prev_cursor = _at(first, forward, False).encode()
        page.cacheable_cursor = _at(last, True, True).encode()
    elif cursor is not None:
        page.cacheable_cursor = replace(cursor, forward=True, next=True).encode()
    return page
