"""Account changes: the profile fields a user (``PUT /v2/account``) or server code
(``nk.account_update_id``) may set, with Nakama's rules and texts (core_account.go).

A field left ``None`` stays as it is; ``""`` clears it (``lang_tag`` to ``''``, its column
being NOT NULL; the others to NULL); ``username`` "" means unchanged. Nothing to set is
"No fields to update.". Each update reads its row with ``FOR UPDATE`` and writes only what
differs, so an update that changes nothing leaves ``update_time`` alone (Nakama's
``IS DISTINCT FROM``). An unknown user id changes nothing and is no error, as in Nakama.
A batch is one transaction: all or nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ...accounts import check_username
from ...errors import ApiError, Code
from ...storage import Database, Queries, UniqueViolation

__all__ = ["NAME", "AccountUpdate", "AccountsCore", "update_accounts", "NO_FIELDS", "USERNAME_IN_USE"]

NAME = "accounts"

NO_FIELDS = "No fields to update."
USERNAME_IN_USE = "Username is already in use."

_TEXT_FIELDS = ("display_name", "timezone", "location", "lang_tag", "avatar_url")


@dataclass(slots=True, frozen=True)
class AccountUpdate:
    user_id: str  # canonical UUID
    username: str = ""
    display_name: str | None = None
    timezone: str | None = None
    location: str | None = None
    lang_tag: str | None = None
    avatar_url: str | None = None
    metadata: str | None = None  # a JSON object's text (server code only)

    def columns(self) -> dict[str, Any]:
        """Column -> value to store; raises ApiError 3 for a bad username or nothing to set."""
        out: dict[str, Any] = {}
        if self.username:
            check_username(self.username)
            out["username"] = self.username
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value if value or name == "lang_tag" else None
        if self.metadata is not None:
            out["metadata"] = self.metadata
        if not out:
            raise ApiError(Code.INVALID_ARGUMENT, NO_FIELDS)
        return out


def _differs(column: str, stored: Any, wanted: Any) -> bool:
    if column == "metadata":  # PostgreSQL hands JSONB back normalised: compare the values
        return bool(orjson.loads(stored or "{}") != orjson.loads(wanted))
    return bool(stored != wanted)


async def update_accounts(tx: Queries, lock: str, updates: Sequence[AccountUpdate], now: int) -> None:
    """Apply ``updates`` inside the caller's transaction (see the module docstring)."""
    for update in updates:
        wanted = update.columns()
        names = list(wanted)
        row = await tx.fetchone(f"SELECT {', '.join(names)} FROM users WHERE id = ?{lock}", update.user_id)
        if row is None:
            continue
        changed = {c: wanted[c] for c, stored in zip(names, row) if _differs(c, stored, wanted[c])}
        if changed:
            assignments = ", ".join(f"{c} = ?" for c in changed)
            await tx.execute(
                f"UPDATE users SET {assignments}, update_time = ? WHERE id = ?", *changed.values(), now, update.user_id
            )


class AccountsCore:
    __slots__ = ("db", "_clock")

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    async def update(self, updates: Sequence[AccountUpdate]) -> None:
        """Every update or none. A username someone else has is ApiError 3 "Username is
        already in use." (Nakama answers that with code 3 too)."""
        for update in updates:
            update.columns()  # refuse bad input before the transaction
        now = int(self._clock())
        lock = self.db.dialect.for_update
        try:
            await self.db.transact(lambda tx: update_accounts(tx, lock, updates, now))
        except UniqueViolation as exc:
            if (exc.table, tuple(exc.columns)) == ("users", ("username",)):
                raise ApiError(Code.INVALID_ARGUMENT, USERNAME_IN_USE) from None
            raise
