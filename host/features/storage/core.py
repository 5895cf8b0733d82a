"""Storage objects as Nakama keeps them (core_storage.go): rules, queries, permissions, cursors.

An object is (collection, key, user_id) -> a JSON object value, with a version (the lowercase
hex MD5 of the value text exactly as written), read permission 0/1/2 (none, owner, public),
write permission 0/1 (none, owner) and create/update times (unix microseconds in the table).
``owner`` is the nil UUID for objects the server owns.

``caller`` is the user a request comes from, or None for server code, which bypasses every
permission (as Nakama's runtime does). A batch write or delete is one transaction, applied in
(collection, key, owner) order so that concurrent batches lock rows in the same order; one
rejected object rejects the whole batch, which then changes nothing.

Errors: rejections raise ``ApiError`` (code 3) with Nakama's texts; a database that cannot
serve raises ``host.storage.DatabaseError``, which each door words as Nakama does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import orjson

from host.errors import ApiError, Code
from host.storage import Database, Queries, Schema

from .cache import MISSING, ObjectCache

__all__ = [
    "NIL",
    "SCHEMA",
    "StorageCore",
    "StoredObject",
    "ObjectId",
    "WriteOp",
    "Ack",
    "version_of",
    "parse_uuid",
    "VERSION_REJECTED",
    "PERMISSION_REJECTED",
    "DELETE_REJECTED",
]

NIL = "00000000-0000-0000-0000-000000000000"

VERSION_REJECTED = "Storage write rejected - version check failed."
PERMISSION_REJECTED = "Storage write rejected - permission denied."
DELETE_REJECTED = "Storage delete rejected - not found, version check failed, or permission denied."
MALFORMED_CURSOR = "Malformed cursor was used."

SCHEMA = Schema(
    "storage",
    [
        # 1: Nakama's storage table; the indexes serve the three list orders.
        """
        CREATE TABLE storage (
            collection   VARCHAR(128) NOT NULL,
            key          VARCHAR(128) NOT NULL,
            user_id      {uuid} NOT NULL,
            value        {json} NOT NULL DEFAULT '{}',
            version      VARCHAR(32) NOT NULL,
            read         SMALLINT NOT NULL DEFAULT 1 CHECK (read >= 0),
            write        SMALLINT NOT NULL DEFAULT 1 CHECK (write >= 0),
            create_time  BIGINT NOT NULL,
            update_time  BIGINT NOT NULL,
            PRIMARY KEY (collection, key, user_id)
        );
        CREATE INDEX storage_collection_read_key_user_id_idx ON storage (collection, read, key, user_id);
        CREATE INDEX storage_collection_user_id_read_key_idx ON storage (collection, user_id, read, key)
        """,
    ],
)

_COLUMNS = "collection, key, user_id, value, version, read, write, create_time, update_time"


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def parse_uuid(text: str) -> str | None:
    """The canonical form of a UUID in any form Go's uuid.FromString takes, else None. The
    canonical lowercase form (what every client sends) skips uuid.UUID (~10 µs)."""
    if _CANONICAL_UUID.fullmatch(text):
        return text
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def version_of(value: str) -> str:
    return hashlib.md5(value.encode()).hexdigest()


@dataclass(slots=True, frozen=True)
class ObjectId:
    collection: str
    key: str
    user_id: str = NIL  # the owner
    version: str = ""  # deletes only: "" = no check


@dataclass(slots=True, frozen=True)
class WriteOp:
    collection: str
    key: str
    user_id: str  # the owner
    value: str  # a JSON object's text, exactly as written (its MD5 is the version)
    version: str = ""  # "" no check, "*" must not exist, else must match
    permission_read: int = 1
    permission_write: int = 1


@dataclass(slots=True, frozen=True)
class StoredObject:
    collection: str
    key: str
    user_id: str
    value: str
    version: str
    permission_read: int
    permission_write: int
    create_time: int  # unix microseconds
    update_time: int


@dataclass(slots=True, frozen=True)
class Ack:
    collection: str
    key: str
    user_id: str
    version: str
    create_time: int  # unix microseconds, full precision (Nakama acks carry time.Now())
    update_time: int


def _object(row: Sequence[object]) -> StoredObject:
    collection, key, user_id, value, version, read, write, create_time, update_time = row
    return StoredObject(collection, key, user_id, value, version, read, write, create_time, update_time)  # type: ignore[arg-type]


@lru_cache(maxsize=256)
def _read_sql(count: int) -> str:
    return f"SELECT {_COLUMNS} FROM storage WHERE " + " OR ".join(["(collection = ? AND key = ? AND user_id = ?)"] * count)


def encode_cursor(obj: StoredObject) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([obj.permission_read, obj.key, obj.user_id])).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[int, str, str]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        read, key, user_id = data
        if type(read) is not int or not isinstance(key, str) or not isinstance(user_id, str):
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise ApiError(Code.INVALID_ARGUMENT, MALFORMED_CURSOR) from None
    return read, key, user_id


class StorageCore:
    """``cache``: recently read and written objects in memory (cache.py), on by default when
    this process is the database's only writer (SQLite); every write here forgets its ids."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time, cache: ObjectCache | None = None) -> None:
        self.db = db
        self._clock = clock
        self.cache = cache if cache is not None else (ObjectCache() if db.exclusive else None)

    # Read ---------------------------------------------------------------------------------

    async def read(self, ids: Sequence[ObjectId], caller: str | None) -> list[StoredObject]:
        """The objects that exist (and, for a client, that it may read), in any order."""
        if not ids:
            return []
        keys = list(dict.fromkeys((i.collection, i.key, i.user_id) for i in ids))
        cache = self.cache
        if cache is None:
            found = await self._load(keys)
        else:
            found, misses = {}, []
            for key in keys:
                obj = cache.get(key)
                if obj is MISSING:
                    misses.append(key)
                elif obj is not None:
                    found[key] = obj
            if misses:
                epoch = cache.epoch
                loaded = await self._load(misses)
                cache.keep(epoch, loaded, misses)
                found.update(loaded)
        objects = [found[key] for key in keys if key in found]
        if caller is None:
            return objects  # type: ignore[return-value]
        return [o for o in objects if o.permission_read == 2 or (o.permission_read == 1 and o.user_id == caller)]

    async def _load(self, keys: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], StoredObject]:
        rows = await self.db.fetch(_read_sql(len(keys)), *[part for key in keys for part in key])
        return {(o.collection, o.key, o.user_id): o for o in map(_object, rows)}

    # Write --------------------------------------------------------------------------------

    async def write(self, ops: Sequence[WriteOp], caller: str | None) -> list[Ack]:
        """Write every object or none; acks in request order."""
        if not ops:
            return []
        order = sorted(range(len(ops)), key=lambda i: (ops[i].collection, ops[i].key, ops[i].user_id))
        now = int(self._clock() * 1_000_000)
        lock = self.db.dialect.for_update

        async def body(tx: Queries) -> list[Ack]:
            acks: list[Ack | None] = [None] * len(ops)
            for i in order:
                acks[i] = await _write_one(tx, ops[i], caller is None, now, lock)
            return acks  # type: ignore[return-value]

        try:
            return await self.db.transact(body)
        finally:
            self._forget((o.collection, o.key, o.user_id) for o in ops)

    def _forget(self, keys: Iterable[tuple[str, str, str]]) -> None:
        """After a write committed or failed: cached copies of those ids are out of date."""
        if self.cache is not None:
            self.cache.forget(keys)

    # Delete -------------------------------------------------------------------------------

    async def delete(self, ids: Sequence[ObjectId], caller: str | None) -> None:
        """Delete every object or none. A client may delete only objects with write > 0, and
        any object it names must exist (⚠ Nakama: a missing one is an error for clients);
        server code without a version deletes what exists and ignores the rest."""
        if not ids:
            return
        ordered = sorted(ids, key=lambda i: (i.collection, i.key, i.user_id))
        authoritative = caller is None

        async def body(tx: Queries) -> None:
            for object_id in ordered:
                sql = "DELETE FROM storage WHERE collection = ? AND key = ? AND user_id = ?"
                args: list[object] = [object_id.collection, object_id.key, object_id.user_id]
                if not authoritative:
                    sql += " AND write > 0"
                if object_id.version:
                    sql += " AND version = ?"
                    args.append(object_id.version)
                deleted = await tx.execute(sql, *args)
                if deleted == 0 and (object_id.version or not authoritative):
                    raise ApiError(Code.INVALID_ARGUMENT, DELETE_REJECTED)

        try:
            await self.db.transact(body)
        finally:
            self._forget((i.collection, i.key, i.user_id) for i in ids)

    # List ---------------------------------------------------------------------------------

    async def list(
        self, caller: str | None, owner: str | None, collection: str, limit: int, cursor: str = ""
    ) -> tuple[list[StoredObject], str]:
        """One page and the cursor of the next ("" when this is the last). Scope:

        * server code: every object (``owner`` None) or the owner's, every read level;
        * a client, no owner: public objects (read 2) of every owner;
        * a client listing itself: its objects with read >= 1 (read 0 is server-only);
        * a client listing another user: that user's public objects.
        """
        if limit <= 0:
            return [], ""
        after = decode_cursor(cursor) if cursor else None
        sql = f"SELECT {_COLUMNS} FROM storage WHERE collection = ?"
        args: list[object] = [collection]
        if owner is None:
            if caller is not None:
                sql += " AND read >= 2"
            if after is not None:
                sql += " AND (read, key, user_id) > (?, ?, ?)"
                args += [after[0] if caller is None else 2, after[1], after[2]]
            sql += " ORDER BY read, key, user_id"
        elif caller is None or caller == owner:
            sql += " AND user_id = ? AND read >= ?"
            args += [owner, 0 if caller is None else 1]
            if after is not None:
                sql += " AND (read, key) > (?, ?)"
                args += [after[0], after[1]]
            sql += " ORDER BY read, key"
        else:
            sql += " AND read = 2 AND user_id = ?"
            args.append(owner)
            if after is not None:
                sql += " AND key > ?"
                args.append(after[1])
            sql += " ORDER BY key"
        sql += " LIMIT ?"
        args.append(limit + 1)
        objects = [_object(row) for row in await self.db.fetch(sql, *args)]
        if len(objects) <= limit:
            return objects, ""
        objects = objects[:limit]
        next_cursor = encode_cursor(objects[-1])
        return objects, "" if next_cursor == cursor else next_cursor


async def _write_one(tx: Queries, op: WriteOp, authoritative: bool, now: int, lock: str) -> Ack:
    """One object inside the batch's transaction; raises ApiError to reject the batch."""
    version = version_of(op.value)
    key = (op.collection, op.key, op.user_id)
    if op.version == "*":
        inserted = await tx.execute(
            "INSERT INTO storage (collection, key, user_id, value, version, read, write, create_time, update_time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (collection, key, user_id) DO NOTHING",
            *key, op.value, version, op.permission_read, op.permission_write, now, now,
        )
        if not inserted:
            raise ApiError(Code.INVALID_ARGUMENT, VERSION_REJECTED)
        return Ack(*key, version, now, now)
    row = await tx.fetchone(
        "SELECT version, read, write, create_time, update_time FROM storage "
        "WHERE collection = ? AND key = ? AND user_id = ?" + lock,
        *key,
    )
    if row is None:
        if op.version:  # a version to match, and nothing to match it
            raise ApiError(Code.INVALID_ARGUMENT, VERSION_REJECTED)
        inserted = await tx.execute(
            "INSERT INTO storage (collection, key, user_id, value, version, read, write, create_time, update_time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (collection, key, user_id) DO NOTHING",
            *key, op.value, version, op.permission_read, op.permission_write, now, now,
        )
        if inserted:
            return Ack(*key, version, now, now)
        # A concurrent writer created it first (PostgreSQL): it is an update after all.
        row = await tx.fetchone(
            "SELECT version, read, write, create_time, update_time FROM storage "
            "WHERE collection = ? AND key = ? AND user_id = ?" + lock,
            *key,
        )
        assert row is not None
    stored_version, read, write, create_time, update_time = row
    if not authoritative and write != 1:
        raise ApiError(Code.INVALID_ARGUMENT, PERMISSION_REJECTED)
    if op.version and op.version != stored_version:
        raise ApiError(Code.INVALID_ARGUMENT, VERSION_REJECTED)
    if (stored_version, read, write) == (version, op.permission_read, op.permission_write):
        return Ack(*key, version, create_time, update_time)  # identical: untouched, old times
    await tx.execute(
        "UPDATE storage SET value = ?, version = ?, read = ?, write = ?, update_time = ? "
        "WHERE collection = ? AND key = ? AND user_id = ?",
        op.value, version, op.permission_read, op.permission_write, now, *key,
    )
    return Ack(*key, version, create_time, now)
