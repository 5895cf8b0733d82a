"""Errors raised by every Store engine, so callers never see a driver's exception types.

Hierarchy::

    StoreError
    ├── StoreClosed: the store was used before open() or after close()
    ├── UsernameInUse: another account holds that username
    └── IdentityInUse: the device id, custom id or email is already linked (a concurrent create won)
"""

from __future__ import annotations

__all__ = ["StoreError", "StoreClosed", "UsernameInUse", "IdentityInUse"]


class StoreError(Exception):
    """Base class of storage failures."""


class StoreClosed(StoreError):
    def __init__(self) -> None:
        super().__init__("store is not open")


class UsernameInUse(StoreError):
    """Nakama answers this with gRPC 6 "Username is already in use."."""

    def __init__(self, username: str) -> None:
        super().__init__(f"username already in use: {username!r}")
        self.username = username


class IdentityInUse(StoreError):
    """The identity (``kind`` is "device", "custom_id" or "email") was linked by someone else first."""

    def __init__(self, kind: str, value: str) -> None:
        super().__init__(f"{kind} already linked to an account")
        self.kind = kind
        self.value = value
