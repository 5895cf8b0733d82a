"""Objects read or written recently, kept in memory so that reading one costs no SQL.

Only sound when this process is the database's only writer (``Database.exclusive``: SQLite)
and every write to the ``storage`` table goes through StorageCore, which ``forget``s the ids
it wrote or deleted once its transaction committed (or failed). Misses are loaded from the
database; a load that raced with a write is not kept: ``forget`` bumps an epoch, and
``keep`` refuses results read under an older one, so a stale row can never be cached after
the write that replaced it. Absent objects are cached too (as None).

Bounded: at most ``limit`` entries (the oldest go first), and values over ``max_value``
bytes are never kept. Threads: reads come from the loop and from Lua workers; one lock
guards the dictionary (each section is a few dict operations).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .core import StoredObject

ObjectKey = tuple[str, str, str]  # (collection, key, owner)

__all__ = ["ObjectCache", "ObjectKey", "MISSING"]

MISSING = object()


class ObjectCache:
    __slots__ = ("limit", "max_value", "_entries", "_epoch", "_lock")

    def __init__(self, limit: int = 10_000, max_value: int = 64 * 1024) -> None:
        self.limit = limit
        self.max_value = max_value
        self._entries: dict[ObjectKey, "StoredObject | None"] = {}
        self._epoch = 0
        self._lock = threading.Lock()

    @property
    def epoch(self) -> int:
        return self._epoch

    def get(self, key: ObjectKey) -> "StoredObject | None | object":
        """The cached object, None if known absent, MISSING if not cached."""
        return self._entries.get(key, MISSING)

    def keep(self, epoch: int, found: "dict[ObjectKey, StoredObject]", asked: Iterable[ObjectKey]) -> None:
        """Cache what a load read (``found``) and what it did not find, unless a write
        happened since the load began (``epoch``)."""
        with self._lock:
            if epoch != self._epoch:
                return
            entries = self._entries
            for key in asked:
                obj = found.get(key)
                if obj is not None and len(obj.value) > self.max_value:
                    continue
                entries[key] = obj
            while len(entries) > self.limit:
                del entries[next(iter(entries))]

    def forget(self, keys: Iterable[ObjectKey]) -> None:
        with self._lock:
            self._epoch += 1
            for key in keys:
                self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)
