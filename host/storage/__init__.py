"""Persistent storage: the ``Store`` interface and its engines (SQLite now, PostgreSQL later)."""

from __future__ import annotations

from host.storage.errors import IdentityInUse, StoreClosed, StoreError, UsernameInUse
from host.storage.store import Account, Store

__all__ = ["Account", "Store", "StoreError", "StoreClosed", "UsernameInUse", "IdentityInUse"]
