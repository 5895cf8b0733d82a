"""PostgresDatabase: the engine for production, on asyncpg (an asyncio driver: nothing blocks).

Connections come from a small pool with the semantics of Go's database/sql, which Nakama's
``database.*`` keys configure: at most ``max_open`` connections (<= 0: no limit), at most
``max_idle`` kept idle (<= 0: none), each closed once older than ``max_lifetime`` seconds
(<= 0: never). A connection that failed at the connection level is thrown away together with
every idle one (they point at the same server, which just went away or restarted), so the
server recovers by itself when PostgreSQL returns; meanwhile callers get DatabaseUnavailable
and one log line says why.

SQL arrives with ``?`` placeholders and is rewritten to ``$n`` once per distinct text;
asyncpg then prepares and caches each statement per connection. UUID columns are read back as
strings and JSONB as text, so rows look the same as on SQLite. A transaction body runs on the
loop inside ``BEGIN ... COMMIT`` and is run again (up to ``_RETRIES`` times) after a deadlock
or a serialization failure, which PostgreSQL may report under load.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg

from host.storage.database import POSTGRES, Availability, Queries, Row, TransactionScope, dollar_placeholders, refuse_inside_transaction
from host.storage.errors import DatabaseClosed, DatabaseError, DatabaseUnavailable, UniqueViolation

__all__ = ["PostgresDatabase"]

T = TypeVar("T")

_RETRIES = 5
_RETRY_STATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
# SQLSTATE classes meaning "the server cannot serve", not "bad SQL": connection exception,
# insufficient resources (disk full, too many connections), operator intervention (shutdown).
_UNAVAILABLE_CLASSES = ("08", "53", "57")
CONNECT_TIMEOUT = 10.0


def _redacted(dsn: str) -> str:
    parts = urlsplit(dsn)
    return f"{parts.hostname}:{parts.port}{parts.path}"


@dataclass(slots=True)
class _Conn:
    raw: asyncpg.Connection
    born: float = field(default_factory=time.monotonic)


class _Pool:
    """Go database/sql pool semantics (see the module docstring)."""

    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Connection]], max_open: int, max_idle: int, max_lifetime: float) -> None:
        self._connect = connect
        self.max_open = max_open
        self.max_idle = min(max_idle, max_open) if max_open > 0 else max_idle
        self.max_lifetime = max_lifetime
        self._idle: deque[_Conn] = deque()
        self._open = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def _expired(self, conn: _Conn) -> bool:
        return self.max_lifetime > 0 and time.monotonic() - conn.born >= self.max_lifetime

    async def acquire(self) -> _Conn:
        while True:
            while self._idle:
                conn = self._idle.pop()  # the most recently used first: the others may expire
                if conn.raw.is_closed() or self._expired(conn):
                    self._discard(conn)
                    continue
                return conn
            if self.max_open <= 0 or self._open < self.max_open:
                self._open += 1
                try:
                    return _Conn(await self._connect())
                except BaseException:
                    self._open -= 1
                    self._wake()
                    raise
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                elif not waiter.cancelled():
                    self._wake()  # pass the wake-up we were given on to the next waiter
                raise

    def release(self, conn: _Conn, broken: bool = False, server_gone: bool = False) -> None:
        if broken or server_gone or conn.raw.is_closed() or self._expired(conn) or len(self._idle) >= self.max_idle:
            self._discard(conn)
        else:
            self._idle.append(conn)
        if server_gone:
            while self._idle:  # they talk to the same server: assume they broke too
                self._discard(self._idle.pop())
        self._wake()

    def _discard(self, conn: _Conn) -> None:
        self._open -= 1
        if not conn.raw.is_closed():
            conn.raw.terminate()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self) -> None:
        idle, self._idle = list(self._idle), deque()
        self._open -= len(idle)
        await asyncio.gather(*(_close(conn) for conn in idle))


async def _close(conn: _Conn) -> None:
    try:
        await asyncio.wait_for(conn.raw.close(), 5)
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        conn.raw.terminate()


class PostgresDatabase:
    """The Database protocol on PostgreSQL (see the module docstring)."""

    dialect = POSTGRES
    blocking = False  # asyncpg lives on the loop: nk functions reach it through bridge.run
    exclusive = False  # nodes may share the server

    def __init__(self, dsn: str, *, max_open: int = 100, max_idle: int = 100, max_lifetime: float = 3600.0) -> None:
        self.dsn = dsn
        self.availability = Availability(f"PostgreSQL at {_redacted(dsn)}")
        self._pool = _Pool(self._new_connection, max_open, max_idle, max_lifetime)
        self._opened = False

    async def _new_connection(self) -> asyncpg.Connection:
        try:
            conn = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT, statement_cache_size=512)
            await conn.set_type_codec("uuid", schema="pg_catalog", encoder=str, decoder=str, format="text")
        except Exception as exc:
            if not _is_driver_error(exc):
                raise
            raise self.translate(exc) from exc
        return conn

    async def open(self) -> None:
        """Connect once: nkhost refuses to start when the server cannot be reached."""
        if self._opened:
            return
        self.availability.armed = False  # the caller reports a failure to start; no second line
        try:
            conn = await self._pool.acquire()
        except DatabaseUnavailable as exc:
            raise DatabaseUnavailable(f"cannot connect to {self.availability.what}: {exc.__cause__ or exc}") from None
        finally:
            self.availability.armed = True
        self._pool.release(conn)
        self._opened = True

    async def close(self) -> None:
        if self._opened:
            self._opened = False
            await self._pool.close()

    # Errors ------------------------------------------------------------------------------

    def translate(self, exc: BaseException) -> DatabaseError:
        """A driver or socket error as this layer's error (the original stays its __cause__)."""
        if isinstance(exc, DatabaseError):
            return exc
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, asyncpg.UniqueViolationError):
            error: DatabaseError = UniqueViolation(exc.table_name or "", _key_columns(exc.detail or ""), str(exc))
        elif isinstance(exc, asyncpg.PostgresError) and not (exc.sqlstate or "").startswith(_UNAVAILABLE_CLASSES):
            error = DatabaseError(text)
        else:
            error = self.availability.failed(text)
        error.__cause__ = exc
        return error

    def _release_after(self, conn: _Conn, exc: BaseException) -> None:
        """Keep the connection unless ``exc`` may have broken it; an error that says the
        server went away drops the idle connections too. A statement's own error (bad SQL,
        a constraint) or the body's (an ApiError) leaves the connection fine."""
        cause = exc.__cause__ if isinstance(exc, DatabaseError) and exc.__cause__ is not None else exc
        gone = isinstance(exc, DatabaseUnavailable) or isinstance(cause, (OSError, asyncpg.InterfaceError)) or (
            isinstance(cause, asyncpg.PostgresError) and (cause.sqlstate or "").startswith(_UNAVAILABLE_CLASSES)
        )
        broken = gone or not isinstance(exc, Exception) or isinstance(cause, asyncio.TimeoutError)
        self._pool.release(conn, broken=broken, server_gone=gone)

    async def _acquire(self) -> _Conn:
        if not self._opened:
            raise DatabaseClosed()
        refuse_inside_transaction()
        return await self._pool.acquire()

    # Queries -----------------------------------------------------------------------------

    async def _one_shot(self, call: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        conn = await self._acquire()
        try:
            result = await call(conn.raw)
        except BaseException as exc:
            self._release_after(conn, exc)
            if isinstance(exc, Exception) and not isinstance(exc, DatabaseError) and _is_driver_error(exc):
                raise self.translate(exc) from exc
            raise
        self._pool.release(conn)
        self.availability.ok()
        return result

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._one_shot(lambda c: c.fetch(dollar_placeholders(sql), *args))

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        return await self._one_shot(lambda c: c.fetchrow(dollar_placeholders(sql), *args))

    async def execute(self, sql: str, *args: Any) -> int:
        return _rowcount(await self._one_shot(lambda c: c.execute(dollar_placeholders(sql), *args)))

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        rows = list(args)
        await self._one_shot(lambda c: c.executemany(dollar_placeholders(sql), rows))

    async def transact(self, body: Callable[[Queries], Awaitable[T]]) -> T:
        for attempt in range(_RETRIES):
            try:
                return await self._one_shot(lambda c: self._run_body(c, body))
            except DatabaseError as exc:
                if getattr(exc.__cause__, "sqlstate", None) not in _RETRY_STATES or attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    async def _run_body(self, conn: asyncpg.Connection, body: Callable[[Queries], Awaitable[T]]) -> T:
        tx = _PgQueries(self, conn)
        scope = TransactionScope()
        async with conn.transaction():
            scope.enter()
            try:
                result = await body(tx)
            finally:
                scope.exit()
            if tx.failed is not None:
                raise tx.failed  # a statement failed and the body went on: the transaction fails
        return result


class _PgQueries:
    """A transaction body's ``tx`` on PostgreSQL: one connection inside BEGIN ... COMMIT."""

    __slots__ = ("_db", "_conn", "failed")

    def __init__(self, db: PostgresDatabase, conn: asyncpg.Connection) -> None:
        self._db = db
        self._conn = conn
        self.failed: DatabaseError | None = None

    async def _call(self, call: Awaitable[T]) -> T:
        if self.failed is not None:
            if hasattr(call, "close"):
                call.close()  # type: ignore[union-attr]
            raise DatabaseError(f"transaction failed earlier: {self.failed}")
        try:
            return await call
        except Exception as exc:
            if not _is_driver_error(exc):
                raise
            self.failed = self._db.translate(exc)
            raise self.failed from exc

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._call(self._conn.fetch(dollar_placeholders(sql), *args))

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        return await self._call(self._conn.fetchrow(dollar_placeholders(sql), *args))

    async def execute(self, sql: str, *args: Any) -> int:
        return _rowcount(await self._call(self._conn.execute(dollar_placeholders(sql), *args)))

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        await self._call(self._conn.executemany(dollar_placeholders(sql), list(args)))


def _is_driver_error(exc: BaseException) -> bool:
    return isinstance(exc, (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError))


def _rowcount(status: str) -> int:
    """asyncpg's command tag (``UPDATE 3``, ``INSERT 0 1``, ``CREATE TABLE``) -> rows changed."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _key_columns(detail: str) -> tuple[str, ...]:
    """``Key (collection, key)=(a, b) already exists.`` -> ("collection", "key")."""
    if not detail.startswith("Key (") or ")=" not in detail:
        return ()
    return tuple(name.strip().strip('"') for name in detail[5 : detail.index(")=")].split(","))
