"""Wallets and their ledger on the database layer (Nakama's core_wallet.go).

A wallet lives in the ``users.wallet`` column. An update is a read-modify-write of user rows,
so it runs as one transaction that reads the rows with ``FOR UPDATE`` (PostgreSQL locks them,
in user id order, so two batches never deadlock; SQLite's single writer runs transactions one
after the other): concurrent updates never lose one another, and no wallet goes below zero.
A batch is all or nothing; users that do not exist are skipped, as in Nakama.

With ``ledger`` each update also writes a ``wallet_ledger`` row (its changeset and metadata)
in the same transaction. A user's rows get strictly increasing ``create_time`` (unix
microseconds; at least one more than the user's newest row), so the ledger lists in the
order the changes were committed even when the clock ties or steps back.

Listing is newest first (⚠ Nakama's docs say oldest first; its code, kept here, lists newest
first), keyset-paged on ``(create_time, id)``, ties broken by id (Nakama orders by time alone
and can skip or repeat rows of equal time across pages).
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from host.errors import ApiError, Code
from host.storage import Database, Queries, Schema

from .changeset import apply_changeset, parse_wallet, wallet_text

__all__ = [
    "NAME", "SCHEMA", "WalletUpdate", "WalletResult", "LedgerItem", "WalletsCore", "update_wallets",
    "CURSOR_INVALID", "LEDGER_NOT_FOUND",
]

NAME = "wallets"

SCHEMA = Schema(
    NAME,
    [
        # 1: Nakama's wallet_ledger, times in unix microseconds.
        """
        CREATE TABLE wallet_ledger (
            id           {uuid} PRIMARY KEY,
            user_id      {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            changeset    {json} NOT NULL,
            metadata     {json} NOT NULL,
            create_time  BIGINT NOT NULL,
            update_time  BIGINT NOT NULL
        );
        CREATE INDEX wallet_ledger_user_id_create_time_id_idx ON wallet_ledger (user_id, create_time, id)
        """,
    ],
)

CURSOR_INVALID = "wallet ledger cursor invalid"  # runtime.ErrWalletLedgerInvalidCursor
LEDGER_NOT_FOUND = "sql: no rows in result set"  # what Nakama reports for an unknown ledger id


@dataclass(slots=True, frozen=True)
class WalletUpdate:
    user_id: str  # canonical UUID
    changeset: dict[str, int]
    metadata: str = "{}"  # a JSON object's text, recorded in the ledger


@dataclass(slots=True, frozen=True)
class WalletResult:
    user_id: str
    updated: dict[str, int]
    previous: dict[str, int]


@dataclass(slots=True, frozen=True)
class LedgerItem:
    id: str
    user_id: str
    changeset: dict[str, int]
    metadata: str  # JSON object text
    create_time: int  # unix microseconds
    update_time: int


@dataclass(slots=True)
class _Batch:
    """What one transaction writes, gathered while the updates are applied in order."""

    wallets: dict[str, dict[str, int]] = field(default_factory=dict)
    results: list[WalletResult] = field(default_factory=list)
    ledger: list[WalletUpdate] = field(default_factory=list)


def _marks(count: int) -> str:
    return ", ".join("?" * count)


async def update_wallets(
    tx: Queries, lock: str, updates: Sequence[WalletUpdate], ledger: bool, now_us: int
) -> list[WalletResult]:
    """Apply ``updates`` in order inside the caller's transaction; raises ``WalletNegative``
    (rolling the whole batch back) when any value would go below zero. One result per update
    whose user exists; each ``previous`` is the wallet just before that update."""
    ids = sorted({u.user_id for u in updates})
    rows = await tx.fetch(f"SELECT id, wallet FROM users WHERE id IN ({_marks(len(ids))}) ORDER BY id{lock}", *ids)
    batch = _Batch({str(uid): parse_wallet(str(uid), wallet) for uid, wallet in rows})
    for update in updates:
        previous = batch.wallets.get(update.user_id)
        if previous is None:
            continue  # no such user: skipped, as Nakama does
        updated = apply_changeset(update.user_id, previous, update.changeset)
        batch.wallets[update.user_id] = updated
        batch.results.append(WalletResult(update.user_id, updated, previous))
        batch.ledger.append(update)
    touched = sorted({r.user_id for r in batch.results})
    if not touched:
        return []
    now = now_us // 1_000_000
    await tx.executemany(
        "UPDATE users SET wallet = ?, update_time = ? WHERE id = ?",
        [(wallet_text(batch.wallets[uid]), now, uid) for uid in touched],
    )
    if ledger:
        await _record(tx, batch.ledger, touched, now_us)
    return batch.results


async def _record(tx: Queries, updates: list[WalletUpdate], user_ids: list[str], now_us: int) -> None:
    """One ledger row per update, each after its user's newest row (the user rows are locked)."""
    newest = dict(await tx.fetch(
        f"SELECT user_id, MAX(create_time) FROM wallet_ledger WHERE user_id IN ({_marks(len(user_ids))}) GROUP BY user_id",
        *user_ids,
    ))
    last = {str(uid): int(t) for uid, t in newest.items()}
    rows = []
    for update in updates:
        at = max(now_us, last.get(update.user_id, -1) + 1)
        last[update.user_id] = at
        changeset = orjson.dumps(update.changeset, option=orjson.OPT_SORT_KEYS).decode()
        rows.append((str(uuid.uuid4()), update.user_id, changeset, update.metadata, at, at))
    await tx.executemany(
        "INSERT INTO wallet_ledger (id, user_id, changeset, metadata, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )


def _encode_cursor(user_id: str, item: LedgerItem) -> str:
    data = orjson.dumps([user_id, item.create_time, item.id])
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode_cursor(user_id: str, cursor: str) -> tuple[int, str]:
    """(create_time, id) of the last row of the previous page; a cursor made for another user
    (or not made here at all) is refused with Nakama's text."""
    try:
        owner, at, last_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if owner != user_id or type(at) is not int or str(uuid.UUID(last_id)) != last_id:
            raise ValueError(cursor)
    except (ValueError, TypeError, AttributeError, binascii.Error, orjson.JSONDecodeError):
        raise ApiError(Code.INVALID_ARGUMENT, CURSOR_INVALID) from None
    return at, last_id


def _changeset(text: str) -> dict[str, int]:
    value = orjson.loads(text)
    return {k: int(v) for k, v in value.items()}


_LEDGER_COLUMNS = "id, user_id, changeset, metadata, create_time, update_time"


def _item(row: Sequence[Any]) -> LedgerItem:
    item_id, user_id, changeset, metadata, create_time, update_time = row
    return LedgerItem(str(item_id), str(user_id), _changeset(changeset), metadata, create_time, update_time)


class WalletsCore:
    __slots__ = ("db", "_clock")

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    def _now_us(self) -> int:
        return int(self._clock() * 1_000_000)

    async def update(self, updates: Sequence[WalletUpdate], ledger: bool) -> list[WalletResult]:
        """Every update or none (see ``update_wallets``)."""
        if not updates:
            return []
        now_us = self._now_us()
        lock = self.db.dialect.for_update
        return await self.db.transact(lambda tx: update_wallets(tx, lock, updates, ledger, now_us))

    async def ledger_list(self, user_id: str, limit: int, cursor: str = "") -> tuple[list[LedgerItem], str]:
        """A page of the user's ledger, newest first, and the cursor of the next page ("" after
        the last). ``limit`` 0 is an empty page with no cursor (⚠ Nakama hands back a cursor
        that no later call accepts)."""
        after = _decode_cursor(user_id, cursor) if cursor else None
        if limit <= 0:
            return [], ""
        where, args = "user_id = ?", [user_id]
        if after is not None:
            where += " AND (create_time, id) < (?, ?)"
            args += list(after)
        rows = await self.db.fetch(
            f"SELECT {_LEDGER_COLUMNS} FROM wallet_ledger WHERE {where} ORDER BY create_time DESC, id DESC LIMIT ?",
            *args, limit + 1,
        )
        items = [_item(r) for r in rows[:limit]]
        return items, (_encode_cursor(user_id, items[-1]) if len(rows) > limit else "")

    async def ledger_update(self, item_id: str, metadata: dict[str, Any]) -> LedgerItem:
        """Merge ``metadata`` into the item's (top-level keys replace, as JSONB's ``||``)."""
        now_us = self._now_us()
        lock = self.db.dialect.for_update

        async def body(tx: Queries) -> LedgerItem:
            row = await tx.fetchone(f"SELECT {_LEDGER_COLUMNS} FROM wallet_ledger WHERE id = ?{lock}", item_id)
            if row is None:
                raise ApiError(Code.NOT_FOUND, LEDGER_NOT_FOUND)
            item = _item(row)
            merged = {**orjson.loads(item.metadata), **metadata}
            text = orjson.dumps(merged, option=orjson.OPT_SORT_KEYS).decode()
            await tx.execute("UPDATE wallet_ledger SET metadata = ?, update_time = ? WHERE id = ?", text, now_us, item_id)
            return LedgerItem(item.id, item.user_id, item.changeset, text, item.create_time, now_us)

        return await self.db.transact(body)
