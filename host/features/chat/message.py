"""A channel message and its wire forms: the ``channel_message`` push (api.ChannelMessage,
also what history lists) and the sender's ``channel_message_ack`` (the push without
``sender_id`` and ``content``).

Times are unix microseconds, shown as RFC 3339 with 0, 3 or 6 fractional digits: what
PostgreSQL keeps of a time, so a message reads the same live and from history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .channel import Channel

__all__ = ["Message", "timestamp", "CHAT", "UPDATE", "REMOVE"]

CHAT, UPDATE, REMOVE = 0, 1, 2  # codes 3-9 are the group system messages (groups.membership)


@dataclass(slots=True)
class Message:
    channel: Channel
    id: str
    code: int
    sender_id: str
    username: str
    content: str  # a JSON object, as text
    create_time: int  # unix microseconds
    update_time: int
    persistent: bool

    def body(self) -> dict[str, Any]:
        """api.ChannelMessage: ``code`` and ``persistent`` are wrappers, always written."""
        out: dict[str, Any] = {"channel_id": self.channel.id, "message_id": self.id, "code": self.code}
        if self.sender_id:
            out["sender_id"] = self.sender_id
        if self.username:
            out["username"] = self.username
        if self.content:
            out["content"] = self.content
        out["create_time"] = timestamp(self.create_time)
        out["update_time"] = timestamp(self.update_time)
        out["persistent"] = self.persistent
        out.update(self.channel.identifiers())
        return out

    def push(self) -> dict[str, Any]:
        return {"channel_message": self.body()}

    def ack(self) -> dict[str, Any]:
        body = self.body()
        body.pop("sender_id", None)
        body.pop("content", None)
        return body


_seconds_text: dict[int, str] = {}


def timestamp(micros: int) -> str:
    seconds, fraction = divmod(micros, 1_000_000)
    base = _seconds_text.get(seconds)
    if base is None:
        if len(_seconds_text) > 1024:
            _seconds_text.clear()
        base = _seconds_text[seconds] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if not fraction:
        return base + "Z"
    if not fraction % 1000:
        return f"{base}.{fraction // 1000:03d}Z"
    return f"{base}.{fraction:06d}Z"
