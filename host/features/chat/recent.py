"""Who sent the recent non-persistent messages, so only their senders can edit or remove them.

Nakama checks nothing when a non-persistent sender updates or removes a message (⚠: any
member can broadcast an "update" of anyone's message). A message that is not stored leaves
no row to check against, so this node remembers the last ``RECENT_LIMIT`` of them: their
channel, sender and times. A session lives on one node, so its own recent messages are
always in its node's index; an older one can no longer be edited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ...streams import StreamId

__all__ = ["Recent", "RecentMessages", "MemoryRecentMessages", "RECENT_LIMIT"]

RECENT_LIMIT = 16384


@dataclass(slots=True)
class Recent:
    stream: StreamId
    sender_id: str
    create_time: int
    update_time: int


class RecentMessages(Protocol):
    def add(self, message_id: str, recent: Recent) -> None: ...

    def find(self, message_id: str, stream: StreamId, sender_id: str) -> Recent | None:
        """The message when it was sent by ``sender_id`` on ``stream``."""

    def forget(self, message_id: str) -> None: ...


class MemoryRecentMessages:
    """RecentMessages in a dict, oldest evicted first (dicts keep insertion order)."""

    __slots__ = ("_items", "limit")

    def __init__(self, limit: int = RECENT_LIMIT) -> None:
        self._items: dict[str, Recent] = {}
        self.limit = limit

    def add(self, message_id: str, recent: Recent) -> None:
        items = self._items
        if len(items) >= self.limit:
            del items[next(iter(items))]
        items[message_id] = recent

    def find(self, message_id: str, stream: StreamId, sender_id: str) -> Recent | None:
        recent = self._items.get(message_id)
        if recent is None or recent.stream != stream or recent.sender_id != sender_id:
            return None
        return recent

    def forget(self, message_id: str) -> None:
        self._items.pop(message_id, None)
