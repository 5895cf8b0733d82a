"""SqliteStore: the default Store, one SQLite file under data_dir.

Threading: every sqlite3 call runs on one dedicated worker thread that owns the connection, so
the event loop never blocks on disk I/O and the connection is never shared between threads.
Calls queue up in order on that thread; SQLite allows one writer at a time anyway.

Durability: ``journal_mode=WAL`` with ``synchronous=FULL``. In WAL mode a commit appends to the
-wal file; with FULL the WAL is fsynced at every commit, so a committed (acknowledged) account
survives kill -9 *and* an OS crash or power cut. NORMAL would survive kill -9 too (the bytes are
in the OS cache), but may lose the last commits on power loss. Writes are rare here (account
creation, bans; logins are reads), so the extra fsync per commit costs nothing that matters.

Schema versions live in ``PRAGMA user_version``; ``_MIGRATIONS[i]`` moves version i to i+1 and
runs in the same transaction as the version bump.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from host.storage.errors import IdentityInUse, StoreClosed, UsernameInUse
from host.storage.store import Account, Store

__all__ = ["SqliteStore"]

T = TypeVar("T")

_MIGRATIONS: list[str] = [
    # 0 -> 1: users and devices, modelled on Nakama's users / user_device tables.
    """
    CREATE TABLE users (
        id            TEXT PRIMARY KEY,
        username      TEXT NOT NULL CONSTRAINT users_username_key UNIQUE,
        display_name  TEXT,
        avatar_url    TEXT,
        lang_tag      TEXT NOT NULL DEFAULT 'en',
        location      TEXT,
        timezone      TEXT,
        metadata      TEXT NOT NULL DEFAULT '{}',
        wallet        TEXT NOT NULL DEFAULT '{}',
        email         TEXT CONSTRAINT users_email_key UNIQUE,
        password      BLOB,
        custom_id     TEXT CONSTRAINT users_custom_id_key UNIQUE,
        edge_count    INTEGER NOT NULL DEFAULT 0,
        create_time   INTEGER NOT NULL,
        update_time   INTEGER NOT NULL,
        verify_time   INTEGER NOT NULL DEFAULT 0,
        disable_time  INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE user_device (
        id       TEXT PRIMARY KEY,
        user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE
    );
    CREATE INDEX user_device_user_id_idx ON user_device (user_id);
    """,
]

_USER_COLUMNS = (
    "id, username, display_name, avatar_url, lang_tag, location, timezone, metadata, wallet, "
    "email, password, custom_id, edge_count, create_time, update_time, verify_time, disable_time"
)


class SqliteStore(Store):
    """See Store. ``path`` is the database file; its directory is created on open()."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None  # touched only on the executor thread

    # Lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nkhost-sqlite")
        try:
            await self._run(self._open_sync)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise

    async def close(self) -> None:
        executor = self._executor
        if executor is None:
            return
        try:
            await self._run(self._close_sync)
        finally:
            self._executor = None
            executor.shutdown(wait=True)

    # Lookups -----------------------------------------------------------------------------

    async def get_account(self, user_id: str) -> Account | None:
        return await self._run(self._one_sync, "id = ?", user_id)

    async def account_by_device(self, device_id: str) -> Account | None:
        return await self._run(
            self._one_sync, "id = (SELECT user_id FROM user_device WHERE id = ?)", device_id
        )

    async def account_by_custom_id(self, custom_id: str) -> Account | None:
        return await self._run(self._one_sync, "custom_id = ?", custom_id)

    async def account_by_email(self, email: str) -> Account | None:
        return await self._run(self._one_sync, "email = ?", email)

    async def account_by_username(self, username: str) -> Account | None:
        return await self._run(self._one_sync, "username = ?", username)

    # Writes ------------------------------------------------------------------------------

    async def create_account(
        self,
        username: str,
        *,
        device_id: str = "",
        custom_id: str = "",
        email: str = "",
        password_hash: bytes = b"",
    ) -> Account:
        return await self._run(self._create_sync, username, device_id, custom_id, email, password_hash)

    async def set_disable_time(self, user_id: str, disable_time: int) -> bool:
        return await self._run(self._set_disable_sync, user_id, int(disable_time))

    # Executor plumbing -------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise StoreClosed()
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # Everything below runs on the executor thread. -------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreClosed()
        return self._conn

    def _open_sync(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: autocommit; writes use explicit BEGIN IMMEDIATE so the write
        # lock is taken up front and a transaction never upgrades (and deadlocks) midway.
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"could not enable WAL mode (got {mode!r})")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(_MIGRATIONS):
            raise sqlite3.DatabaseError(
                f"database schema version {version} is newer than this nkhost ({len(_MIGRATIONS)})"
            )
        for target in range(version, len(_MIGRATIONS)):
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target + 1}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _close_sync(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _one_sync(self, where: str, value: str) -> Account | None:
        db = self._db()
        row = db.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE {where}", (value,)).fetchone()
        if row is None:
            return None
        devices = [d for (d,) in db.execute("SELECT id FROM user_device WHERE user_id = ? ORDER BY id", (row[0],))]
        return _account_from_row(row, devices)

    def _create_sync(
        self, username: str, device_id: str, custom_id: str, email: str, password_hash: bytes
    ) -> Account:
        db = self._db()
        now = int(self._clock())
        user_id = str(uuid.uuid4())
        db.execute("BEGIN IMMEDIATE")
        try:
            # Checked inside the write transaction, so the answer cannot change before COMMIT.
            if device_id and db.execute("SELECT 1 FROM user_device WHERE id = ?", (device_id,)).fetchone():
                raise IdentityInUse("device", device_id)
            db.execute(
                "INSERT INTO users (id, username, email, password, custom_id, create_time, update_time) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (user_id, username, email or None, password_hash or None, custom_id or None, now, now),
            )
            if device_id:
                db.execute("INSERT INTO user_device (id, user_id) VALUES (?, ?)", (device_id, user_id))
            db.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            db.execute("ROLLBACK")
            raise _translate_integrity(exc, username, device_id, custom_id, email) from None
        except BaseException:
            db.execute("ROLLBACK")
            raise
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

    def _set_disable_sync(self, user_id: str, disable_time: int) -> bool:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            cur = db.execute(
                "UPDATE users SET disable_time = ?, update_time = ? WHERE id = ?",
                (disable_time, int(self._clock()), user_id),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return cur.rowcount == 1


def _account_from_row(row: tuple[Any, ...], devices: list[str]) -> Account:
    return Account(
        id=row[0],
        username=row[1],
        display_name=row[2] or "",
        avatar_url=row[3] or "",
        lang_tag=row[4] or "",
        location=row[5] or "",
        timezone=row[6] or "",
        metadata=row[7] or "",
        wallet=row[8] or "",
        email=row[9] or "",
        password_hash=bytes(row[10] or b""),
        custom_id=row[11] or "",
        devices=devices,
        edge_count=row[12],
        create_time=row[13],
        update_time=row[14],
        verify_time=row[15],
        disable_time=row[16],
    )


def _translate_integrity(
    exc: sqlite3.IntegrityError, username: str, device_id: str, custom_id: str, email: str
) -> Exception:
    """Map SQLite's "UNIQUE constraint failed: table.column" text to a StoreError."""
    text = str(exc)
    if "users.username" in text:
        return UsernameInUse(username)
    if "users.custom_id" in text:
        return IdentityInUse("custom_id", custom_id)
    if "users.email" in text:
        return IdentityInUse("email", email)
    if "user_device.id" in text:
        return IdentityInUse("device", device_id)
    return exc
