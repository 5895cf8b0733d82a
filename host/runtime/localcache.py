"""The cache behind ``nk.localcache_get/put/delete/clear``, shared by every Lua VM of the process.

Semantics follow Nakama (``server/runtime_lua_localcache.go`` and the ``localcache*`` functions):
keys are non-empty strings; ``put`` takes a TTL in whole **seconds**, 0 (the default) meaning no
expiry and a negative one being an error; ``get`` returns the stored value, or the caller's default
when the key is missing or expired; a value stored as nil is found (and returned as nil).

Two things differ, on purpose:

* Values are stored frozen: Lua scalars as bytes/int/float/bool/None, tables as JSON-shaped data
  (for instance a Lua table read with Nakama's table rules, strings kept as bytes) whose dicts
  become read-only ``MappingProxyType`` and whose lists become tuples, every container a new
  object. ``get`` hands back that frozen value; each VM builds a fresh Lua table from it (lupa's
  ``table_from(recursive=True)`` accepts both kinds directly), so no VM can change what another
  reads. Nakama shares one read-only Lua table instead, which a Python host cannot do across VMs.
* The cache is bounded, so a script cannot exhaust host memory: at most ``max_entries`` keys and
  about ``max_bytes`` of data (an estimate: string lengths plus a fixed cost per value and per
  container entry). A ``put`` that would pass a bound first drops expired entries, then fails with
  an ``NkArgError`` ("localcache is full ..."), which the script sees as a Lua error. Entries are
  never evicted silently, so a value stays until its TTL, ``delete`` or ``clear``, as in Nakama.

Expired entries are removed when read, and on every ``put`` through a min-heap of expiry times, so
their memory comes back without a sweeper thread.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from host.runtime.errors import NkArgError
from host.runtime.nk_utils import string_arg

__all__ = ["LocalCache", "DEFAULT_MAX_ENTRIES", "DEFAULT_MAX_BYTES", "MAX_VALUE_DEPTH"]

DEFAULT_MAX_ENTRIES = 100_000
DEFAULT_MAX_BYTES = 64 << 20
#: Deepest table a value may hold; json_encode stops at the same depth.
MAX_VALUE_DEPTH = 64
# Size estimate: every scalar, string and container entry costs this much on top of its bytes.
_ITEM_COST = 16

_SCALARS = (bool, int, float, type(None))


def _freeze(value: object, depth: int = 0) -> tuple[object, int]:
    """An immutable copy of a JSON-shaped value and its estimated size in bytes."""
    if isinstance(value, _SCALARS):
        return value, _ITEM_COST
    if isinstance(value, (bytes, str)):
        return value, _ITEM_COST + len(value)
    if depth >= MAX_VALUE_DEPTH:
        raise NkArgError(f"value is nested deeper than {MAX_VALUE_DEPTH} levels", 2)
    if isinstance(value, Mapping):
        frozen: dict[object, object] = {}
        size = _ITEM_COST
        for key, item in value.items():
            if not isinstance(key, (bytes, str, int, float, bool)):
                raise NkArgError(f"value has a key of unsupported type {type(key).__name__}", 2)
            frozen[key], item_size = _freeze(item, depth + 1)
            size += item_size + _ITEM_COST + (len(key) if isinstance(key, (bytes, str)) else 0)
        return MappingProxyType(frozen), size
    if isinstance(value, (list, tuple)):
        items = [_freeze(item, depth + 1) for item in value]
        return tuple(item for item, _ in items), _ITEM_COST + sum(size for _, size in items)
    raise NkArgError(f"cannot store a value of type {type(value).__name__}", 2)


@dataclass(slots=True)
class _Entry:
    value: object
    size: int
    expires_at: float | None  # monotonic seconds; None: never


class LocalCache:
    """Thread-safe, bounded key/value cache with per-entry TTL (see the module docstring)."""

    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[bytes, _Entry] = {}
        self._bytes = 0
        # (expires_at, tie-breaker, key); stale items (overwritten or deleted keys) are skipped.
        self._expiry: list[tuple[float, int, bytes]] = []
        self._order = itertools.count()

    def __len__(self) -> int:
        """Number of stored keys, expired ones not yet removed included."""
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """Estimated size of the stored values."""
        return self._bytes

    def get(self, key: object, default: object = None) -> object:
        """The value under ``key``, or ``default`` when it is missing or expired."""
        name = _key(key)
        now = self._clock()
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                return default
            if entry.expires_at is not None and entry.expires_at <= now:
                self._remove(name)
                return default
            return entry.value

    def put(self, key: object, value: object, ttl: object = 0) -> None:
        """Store ``value`` (frozen) under ``key`` for ``ttl`` whole seconds (0: no expiry)."""
        name = _key(key)
        seconds = _ttl(ttl)
        frozen, size = _freeze(value)
        now = self._clock()
        expires_at = now + seconds if seconds else None
        with self._lock:
            self._purge_expired(now)
            old = self._entries.get(name)
            entries = len(self._entries) + (old is None)
            total = self._bytes + size - (old.size if old else 0)
            if entries > self.max_entries or total > self.max_bytes:
                raise NkArgError(
                    f"localcache is full ({self.max_entries} keys, {self.max_bytes} bytes at most)"
                )
            self._entries[name] = _Entry(frozen, size, expires_at)
            self._bytes = total
            if expires_at is not None:
                heapq.heappush(self._expiry, (expires_at, next(self._order), name))
                self._compact_expiry()

    def delete(self, key: object) -> None:
        """Remove ``key`` if present."""
        name = _key(key)
        with self._lock:
            self._remove(name)

    def clear(self) -> None:
        """Remove every key."""
        with self._lock:
            self._entries.clear()
            self._expiry.clear()
            self._bytes = 0

    # -- internals (called with the lock held) --------------------------------------------------

    def _remove(self, name: bytes) -> None:
        entry = self._entries.pop(name, None)
        if entry is not None:
            self._bytes -= entry.size

    def _purge_expired(self, now: float) -> None:
        heap = self._expiry
        while heap and heap[0][0] <= now:
            expires_at, _, name = heapq.heappop(heap)
            entry = self._entries.get(name)
            if entry is not None and entry.expires_at == expires_at:
                self._remove(name)

    def _compact_expiry(self) -> None:
        """Drop stale heap items once they outnumber the live ones, so rewriting one key with a
        TTL over and over cannot grow the heap without bound."""
        if len(self._expiry) <= 2 * len(self._entries) + 64:
            return
        self._expiry = [
            (entry.expires_at, next(self._order), name)
            for name, entry in self._entries.items()
            if entry.expires_at is not None
        ]
        heapq.heapify(self._expiry)


def _key(key: object) -> bytes:
    name = string_arg(key, 1)
    if not name:
        raise NkArgError("expects key string", 1)
    return name


def _ttl(ttl: object) -> int:
    """Nakama reads the TTL with OptInt64: a number, truncated to whole seconds; nil means 0."""
    if ttl is None:
        return 0
    if not isinstance(ttl, (int, float)) or isinstance(ttl, bool) or not math.isfinite(ttl):
        raise NkArgError("ttl must be a number", 3)
    seconds = int(ttl)
    if seconds < 0:
        raise NkArgError("ttl must be 0 or more", 3)
    return seconds
