"""Channel ids (``<mode>.<subject>.<subcontext>.<label>``) and the streams they name.

A room is stream mode 2 with the room name as label, a group chat mode 3 with the group id
as subject, a direct message mode 4 with the two user ids, the smaller as subject
(nakama-features.md §1.1). Parsing is stricter than Nakama's where Nakama accepts ids that
name no channel anyone can join (⚠): a room label is checked like a room name at join, a
group id is required (``3...`` is refused), both user ids of a DM are required, and a DM id
with its users in the wrong order names the pair's channel (Nakama: another stream nobody
joined).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from ...streams import StreamId, StreamMode

__all__ = [
    "Channel", "InvalidChannel", "parse_channel_id", "room", "direct", "group", "room_name_problem",
    "MAX_ROOM_NAME", "NIL", "parse_uuid",
]

NIL = "00000000-0000-0000-0000-000000000000"
MAX_ROOM_NAME = 64  # bytes


class InvalidChannel(ValueError):
    """The text names no channel."""


@dataclass(frozen=True, slots=True)
class Channel:
    """A chat channel: its stream and the id clients know it by."""

    stream: StreamId
    id: str

    @classmethod
    def of(cls, stream: StreamId) -> Channel:
        return cls(stream, f"{stream.mode}.{stream.subject or ''}.{stream.subcontext or ''}.{stream.label}")

    def identifiers(self) -> dict[str, Any]:
        """The one identifier group a channel's envelopes carry (room, group, or DM users)."""
        stream = self.stream
        if stream.mode == StreamMode.CHANNEL:
            return {"room_name": stream.label}
        if stream.mode == StreamMode.GROUP:
            return {"group_id": stream.subject}
        return {"user_id_one": stream.subject, "user_id_two": stream.subcontext}

    def has_member(self, user_id: str) -> bool:
        """For a DM: whether the user is one of its two users."""
        return user_id in (self.stream.subject, self.stream.subcontext)

    def other(self, user_id: str) -> str:
        """For a DM: the user who is not ``user_id`` (``user_id`` itself for a self-DM)."""
        subject, subcontext = self.stream.subject, self.stream.subcontext
        return subcontext if subject == user_id else subject  # type: ignore[return-value]


def room_name_problem(name: str) -> str | None:
    """Why a room name is refused (Nakama's join texts, before ": Invalid channel target")."""
    try:
        size = len(name.encode())
    except UnicodeEncodeError:  # a lone surrogate: not UTF-8
        return "Channel name must only contain valid UTF-8 bytes"
    if not 1 <= size <= MAX_ROOM_NAME:
        return f"Channel name is required and must be 1-{MAX_ROOM_NAME} chars"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return "Channel name must not contain control chars"
    return None


def parse_uuid(text: str) -> str | None:
    """The canonical form of a non-nil UUID, else None."""
    try:
        value = uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return None
    return None if value.int == 0 else str(value)


def room(name: str) -> Channel:
    return Channel.of(StreamId(StreamMode.CHANNEL, label=name))


def group(group_id: str) -> Channel:
    return Channel.of(StreamId(StreamMode.GROUP, group_id))


def direct(a: str, b: str) -> Channel:
    """The DM channel of two users (canonical ids), whichever order they come in."""
    low, high = sorted((a, b))
    return Channel.of(StreamId(StreamMode.DM, low, high))


def parse_channel_id(text: str) -> Channel:
    """The channel a client or module names; raises InvalidChannel."""
    parts = text.split(".", 3)
    if len(parts) != 4:
        raise InvalidChannel(text)
    mode, subject, subcontext, label = parts
    if mode == "2" and not subject and not subcontext and room_name_problem(label) is None:
        return room(label)
    if mode == "3" and not subcontext and not label and (gid := parse_uuid(subject)) is not None:
        return group(gid)
    if mode == "4" and not label and (a := parse_uuid(subject)) is not None and (b := parse_uuid(subcontext)) is not None:
        return direct(a, b)
    raise InvalidChannel(text)
