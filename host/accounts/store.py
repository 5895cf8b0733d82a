"""Account rows on the database layer: the ``users`` and ``user_device`` tables and their queries.

Rules every caller can count on, on either engine:

* Lookups return ``None`` when nothing matches; they never raise for "not found".
* ``create_account`` writes the user and its device in one transaction and returns only once
  it is durable; a taken username or identity raises ``UsernameInUse`` / ``IdentityInUse``
  and writes nothing.
* Times are unix seconds (ints), as Nakama's API reports them (it drops sub-second digits).
* A database that cannot serve raises ``host.storage.DatabaseUnavailable``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from host.storage import Database, Queries, Schema, UniqueViolation

__all__ = ["Account", "AccountStore", "SCHEMA", "UsernameInUse", "IdentityInUse"]

SCHEMA = Schema(
    "accounts",
    [
        # 1: users and devices, modelled on Nakama's users / user_device tables. IF NOT EXISTS:
        # files made before migrations were tracked already hold them.
        """
        CREATE TABLE IF NOT EXISTS users (
            id            {uuid} PRIMARY KEY,
            username      TEXT NOT NULL CONSTRAINT users_username_key UNIQUE,
            display_name  TEXT,
            avatar_url    TEXT,
            lang_tag      TEXT NOT NULL DEFAULT 'en',
            location      TEXT,
            timezone      TEXT,
            metadata      {json} NOT NULL DEFAULT '{}',
            wallet        {json} NOT NULL DEFAULT '{}',
            email         TEXT CONSTRAINT users_email_key UNIQUE,
            password      {bytes},
            custom_id     TEXT CONSTRAINT users_custom_id_key UNIQUE,
            edge_count    INTEGER NOT NULL DEFAULT 0,
            create_time   BIGINT NOT NULL,
            update_time   BIGINT NOT NULL,
            verify_time   BIGINT NOT NULL DEFAULT 0,
            disable_time  BIGINT NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS user_device (
            id       TEXT PRIMARY KEY,
            user_id  {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE
        );
        CREATE INDEX IF NOT EXISTS user_device_user_id_idx ON user_device (user_id)
        """,
    ],
)

_COLUMNS = (
    "id, username, display_name, avatar_url, lang_tag, location, timezone, metadata, wallet, "
    "email, password, custom_id, edge_count, create_time, update_time, verify_time, disable_time"
)


class UsernameInUse(Exception):
    """Nakama answers this with gRPC 6 "Username is already in use."."""

    def __init__(self, username: str) -> None:
        super().__init__(f"username already in use: {username!r}")
        self.username = username


class IdentityInUse(Exception):
    """The identity (``kind`` is "device", "custom_id" or "email") was linked by someone else first."""

    def __init__(self, kind: str, value: str) -> None:
        super().__init__(f"{kind} already linked to an account")
        self.kind = kind
        self.value = value


@dataclass(slots=True)
class Account:
    """One user with its linked identities; the fields of Nakama's ``users`` row that nkhost uses.

    Empty strings mean NULL (Nakama omits them from JSON); ``verify_time`` and ``disable_time``
    are 0 when unset. ``password_hash`` is the bcrypt hash, empty when the account has no password.
    """

    id: str
    username: str
    display_name: str = ""
    avatar_url: str = ""
    lang_tag: str = "en"
    location: str = ""
    timezone: str = ""
    metadata: str = "{}"
    wallet: str = "{}"
    email: str = ""
    password_hash: bytes = b""
    custom_id: str = ""
    devices: list[str] = field(default_factory=list)
    edge_count: int = 0
    create_time: int = 0
    update_time: int = 0
    verify_time: int = 0
    disable_time: int = 0

    @property
    def disabled(self) -> bool:
        """Banned accounts carry a non-zero disable_time (Nakama checks ``Unix() != 0``)."""
        return self.disable_time != 0


# Which identity a unique violation names: (table, column) -> identity kind.
_IDENTITIES = {("users", "custom_id"): "custom_id", ("users", "email"): "email", ("user_device", "id"): "device"}


class AccountStore:
    """Account queries on a Database (either engine)."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    async def _one(self, where: str, value: str) -> Account | None:
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM users WHERE {where}", value)
        if row is None:
            return None
        devices = await self.db.fetch("SELECT id FROM user_device WHERE user_id = ? ORDER BY id", row[0])
        return _account_from_row(row, [d for (d,) in devices])

    async def get_account(self, user_id: str) -> Account | None:
        """The account with this id (a UUID string), or None."""
        try:
            uuid.UUID(user_id)
        except ValueError:
            return None  # PostgreSQL's uuid column would refuse the text
        return await self._one("id = ?", user_id)

    async def account_by_device(self, device_id: str) -> Account | None:
        return await self._one("id = (SELECT user_id FROM user_device WHERE id = ?)", device_id)

    async def account_by_custom_id(self, custom_id: str) -> Account | None:
        return await self._one("custom_id = ?", custom_id)

    async def account_by_email(self, email: str) -> Account | None:
        """Callers pass the email lowercased."""
        return await self._one("email = ?", email)

    async def account_by_username(self, username: str) -> Account | None:
        """Exactly this username (case-sensitive, as Nakama's UNIQUE column)."""
        return await self._one("username = ?", username)

    async def create_account(
        self,
        username: str,
        *,
        device_id: str = "",
        custom_id: str = "",
        email: str = "",
        password_hash: bytes = b"",
    ) -> Account:
        """A new account (fresh UUID v4 id) with the given links, in one transaction."""
        now = int(self._clock())
        user_id = str(uuid.uuid4())

        async def create(tx: Queries) -> None:
            await tx.execute(
                "INSERT INTO users (id, username, email, password, custom_id, create_time, update_time) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                user_id, username, email or None, password_hash or None, custom_id or None, now, now,
            )
            if device_id:
                await tx.execute("INSERT INTO user_device (id, user_id) VALUES (?, ?)", device_id, user_id)

        try:
            await self.db.transact(create)
        except UniqueViolation as exc:
            column = exc.columns[0] if exc.columns else ""
            if (exc.table, column) == ("users", "username"):
                raise UsernameInUse(username) from None
            kind = _IDENTITIES.get((exc.table, column))
            if kind is None:
                raise
            raise IdentityInUse(kind, {"device": device_id, "custom_id": custom_id, "email": email}[kind]) from None
        return Account(
            id=user_id,
            username=username,
            email=email,
            password_hash=password_hash,
            custom_id=custom_id,
            devices=[device_id] if device_id else [],
            create_time=now,
            update_time=now,
        )

    async def set_disable_time(self, user_id: str, disable_time: int) -> bool:
        """Ban (non-zero unix time) or unban (0). False if the account does not exist."""
        changed = await self.db.execute(
            "UPDATE users SET disable_time = ?, update_time = ? WHERE id = ?",
            int(disable_time), int(self._clock()), user_id,
        )
        return changed == 1


def _account_from_row(row: Any, devices: list[str]) -> Account:
    (user_id, username, display_name, avatar_url, lang_tag, location, timezone, metadata, wallet,
     email, password, custom_id, edge_count, create_time, update_time, verify_time, disable_time) = row
    return Account(
        id=user_id,
        username=username,
        display_name=display_name or "",
        avatar_url=avatar_url or "",
        lang_tag=lang_tag or "",
        location=location or "",
        timezone=timezone or "",
        metadata=metadata or "",
        wallet=wallet or "",
        email=email or "",
        password_hash=bytes(password or b""),
        custom_id=custom_id or "",
        devices=devices,
        edge_count=edge_count,
        create_time=create_time,
        update_time=update_time,
        verify_time=verify_time,
        disable_time=disable_time,
    )
