"""SqliteDatabase: the default engine, one SQLite file under data_dir.

Threads: a **writer** thread owns the connection that writes, a **reader** thread owns a second
connection for reads outside transactions. The event loop only queues work and gets answers
back (``call_soon_threadsafe``), so it never waits on the disk. In WAL mode readers see only
committed data: a client never reads a write that is not yet durable.

A call from a thread that runs no loop (a Lua worker, through ``drive``) is served without
the loop: a read runs right there on that thread's own connection, a write is queued to the
writer and the thread blocks until its batch committed. Each thread hand-off costs ~100 µs
of CPU on this machine, more than a small statement; an nk storage call so costs no hand-off
for a read and one round trip to the writer for a write, instead of four.

Durability: ``journal_mode=WAL`` with ``synchronous=FULL``: every COMMIT fsyncs the WAL, so an
acknowledged write survives kill -9 and a power cut.

Group commit: an fsync costs milliseconds, so the writer does not commit each transaction on
its own. It opens one SQLite transaction (a *batch*), runs every transaction waiting in its
queue one after the other, each inside its own SAVEPOINT (a body that fails is rolled back to
its savepoint and fails alone), then COMMITs once and only then answers every
transaction of the batch. The writer drives each transaction body itself: the body's awaits on
its ``tx`` complete on the writer thread, so a body costs no thread hand-off per statement
(one costs ~100 µs of CPU on this machine, more than the statement).

Broken files: before each COMMIT the writer checks that the path still names the file it
opened (device and inode). A deleted or replaced file fails the batch with DatabaseUnavailable
instead of committing into a file that is gone; writes work again if the file comes back.
A full disk, an I/O error or a corrupt file fail the call the same way, with one log line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from host.storage.database import (
    SQLITE,
    Availability,
    Queries,
    Row,
    TransactionScope,
    blocking_deadline,
    drive,
    refuse_inside_transaction,
)
from host.storage.errors import DatabaseClosed, DatabaseError, DatabaseUnavailable, UniqueViolation

__all__ = ["SqliteDatabase"]

log = logging.getLogger("nkhost.storage")

T = TypeVar("T")
Answer = tuple["asyncio.Future[Any]", Any, "BaseException | None"]

BATCH_LIMIT = 512  # transactions per commit, so acknowledgements never wait on an endless batch

# sqlite3 primary error codes that mean "the database cannot serve", not "bad SQL".
_UNAVAILABLE = {
    5: "the database file is locked by another process",  # SQLITE_BUSY
    8: "the database file cannot be written",  # SQLITE_READONLY (also: the file was moved or deleted)
    10: "disk I/O error",  # SQLITE_IOERR
    11: "the database file is corrupt",  # SQLITE_CORRUPT
    13: "database or disk is full",  # SQLITE_FULL
    14: "unable to open the database file",  # SQLITE_CANTOPEN
    26: "the file is not a SQLite database",  # SQLITE_NOTADB
}
_FILE_ERRORS = (8, 10, 14)  # how a write into a moved or deleted file can fail


@dataclass(slots=True)
class _Call:
    """One statement: ``kind`` names the query method; the answer goes to ``future``."""

    kind: str  # "fetch", "fetchone", "execute", "executemany"
    sql: str
    args: Any
    future: Any  # an asyncio.Future (a call from the loop) or a _Waiter (from a worker)


@dataclass(slots=True)
class _Tx:
    """A transaction body, driven on the writer thread; its result goes to ``future``."""

    body: Callable[[Queries], Awaitable[Any]]
    future: Any


_STOP = object()


class _Waiter:
    """The answer slot of a call made from a thread without a loop (a Lua worker), which
    blocks until the writer answers or the thread's deadline (``deadline_for``) passes."""

    __slots__ = ("_lock", "result", "error", "settled")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self.result: Any = None
        self.error: BaseException | None = None
        self.settled = False  # only the writer thread settles: the first answer wins

    def settle(self, result: Any, error: BaseException | None) -> None:
        if self.settled:
            return
        self.settled = True
        self.result, self.error = result, error
        self._lock.release()

    def wait(self) -> Any:
        deadline = blocking_deadline()
        timeout = -1 if deadline is None else max(deadline - time.monotonic(), 0.0)
        if not self._lock.acquire(timeout=timeout):
            raise DatabaseError("the database did not answer before the call's deadline")
        if self.error is not None:
            raise self.error
        return self.result


def _run(conn: sqlite3.Connection, kind: str, sql: str, args: Any) -> Any:
    if kind == "executemany":
        conn.executemany(sql, args)
        return None
    cursor = conn.execute(sql, args)
    if kind == "fetch":
        return cursor.fetchall()
    if kind == "fetchone":
        return cursor.fetchone()
    return max(cursor.rowcount, 0)


class SqliteDatabase:
    """The Database protocol on one SQLite file (see the module docstring)."""

    dialect = SQLITE
    blocking = True
    exclusive = True  # one nkhost owns the file

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.availability = Availability(str(self.path))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._reads: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the file opened
        self._closing = False
        self.commits = 0  # batches committed (each one fsync), for tests and benchmarks
        self._local = threading.local()  # a worker thread's own read connection
        self._local_conns: list[sqlite3.Connection] = []

    # Lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        if self._loop is not None:
            return
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._closing = False
        self._jobs = queue.SimpleQueue()
        self._reads = queue.SimpleQueue()
        try:
            for target, name in ((self._writer_main, "nkhost-sqlite-writer"), (self._reader_main, "nkhost-sqlite-reader")):
                ready: asyncio.Future[None] = loop.create_future()
                thread = threading.Thread(target=target, args=(ready,), name=name, daemon=True)
                thread.start()
                self._threads.append(thread)
                await ready
        except BaseException:
            await self._stop_threads()
            self._loop = None
            raise

    async def close(self) -> None:
        if self._loop is None or self._closing:
            return
        self._closing = True
        await self._stop_threads()
        conns, self._local_conns = self._local_conns, []
        for conn in conns:  # the workers that opened them are gone: the runtime closed first
            conn.close()
        self._local = threading.local()
        self._loop = None

    async def _stop_threads(self) -> None:
        threads, self._threads = self._threads, []
        self._jobs.put(_STOP)
        self._reads.put(_STOP)
        for thread in threads:
            await asyncio.to_thread(thread.join)

    # Queries -----------------------------------------------------------------------------

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        if not self._on_loop():
            return self._read_here("fetch", sql, args)  # type: ignore[no-any-return]
        return await self._submit(self._reads, _Call("fetch", sql, args, self._future()))

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        if not self._on_loop():
            return self._read_here("fetchone", sql, args)  # type: ignore[no-any-return]
        return await self._submit(self._reads, _Call("fetchone", sql, args, self._future()))

    async def execute(self, sql: str, *args: Any) -> int:
        return await self._write(_Call("execute", sql, args, None))  # type: ignore[no-any-return]

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        await self._write(_Call("executemany", sql, list(args), None))

    async def transact(self, body: Callable[[Queries], Awaitable[T]]) -> T:
        return await self._write(_Tx(body, None))  # type: ignore[no-any-return]

    def _on_loop(self) -> bool:
        return asyncio._get_running_loop() is self._loop  # no exception when there is none

    def _future(self) -> asyncio.Future[Any]:
        if self._loop is None or self._closing:
            raise DatabaseClosed()
        refuse_inside_transaction()
        return self._loop.create_future()

    @staticmethod
    def _submit(jobs: queue.SimpleQueue[Any], job: _Call | _Tx) -> asyncio.Future[Any]:
        jobs.put(job)
        return job.future  # type: ignore[return-value]

    async def _write(self, job: _Call | _Tx) -> Any:
        """Queue a write for the writer: awaited on the loop, waited for on a worker thread."""
        if self._on_loop():
            job.future = self._future()
            self._jobs.put(job)
            return await job.future
        if self._loop is None or self._closing:
            raise DatabaseClosed()
        refuse_inside_transaction()
        job.future = _Waiter()
        self._jobs.put(job)
        return job.future.wait()

    def _read_here(self, kind: str, sql: str, args: Any) -> Any:
        """A read on the calling worker thread, on its own connection (WAL: committed data only)."""
        if self._loop is None or self._closing:
            raise DatabaseClosed()
        refuse_inside_transaction()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect(writer=False, check_same_thread=False)
            self._local.conn = conn
            self._local_conns.append(conn)
        try:
            return _run(conn, kind, sql, args)
        except sqlite3.Error as exc:
            raise self.translate(exc) from None

    # Answers back to the loop ------------------------------------------------------------

    def _answer(self, future: Any, result: Any, error: BaseException | None) -> None:
        if isinstance(future, _Waiter):
            future.settle(result, error)
        elif self._loop is not None:
            self._loop.call_soon_threadsafe(_settle, future, result, error)

    def _answer_all(self, answers: list[Answer]) -> None:
        on_loop = []
        for answer in answers:
            if isinstance(answer[0], _Waiter):
                answer[0].settle(answer[1], answer[2])
            else:
                on_loop.append(answer)
        if on_loop and self._loop is not None:
            self._loop.call_soon_threadsafe(_settle_all, on_loop)

    # Errors ------------------------------------------------------------------------------

    def translate(self, exc: sqlite3.Error) -> DatabaseError:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE constraint failed:" in str(exc):
            return _unique_violation(str(exc))
        if code in _FILE_ERRORS:
            moved = self._file_moved()
            if moved is not None:
                return moved
        if code in _UNAVAILABLE:
            return self.availability.failed(f"{_UNAVAILABLE[code]}: {exc}")
        return DatabaseError(str(exc))

    def _file_moved(self) -> DatabaseUnavailable | None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return self.availability.failed(
                "the database file was deleted or moved while the server was running: writes are "
                "refused until it is put back (or nkhost is restarted)"
            )
        except OSError as exc:
            return self.availability.failed(f"cannot check the database file: {exc.strerror}")
        if (stat.st_dev, stat.st_ino) != self._identity:
            return self.availability.failed(
                "the database file was replaced by another file while the server was running: "
                "writes are refused (restart nkhost to use the new file)"
            )
        return None

    # Threads -----------------------------------------------------------------------------

    def _connect(self, writer: bool, check_same_thread: bool = True) -> sqlite3.Connection:
        if writer:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable(f"cannot create the directory of {self.path}: {exc.strerror}") from None
        # isolation_level=None: the engine issues BEGIN/SAVEPOINT/COMMIT itself.
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=10.0, check_same_thread=check_same_thread)
        try:
            if writer:
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise DatabaseUnavailable(f"cannot open database {self.path}: WAL mode refused (got {mode!r})")
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("PRAGMA foreign_keys=ON")
                stat = os.stat(self.path)
                self._identity = (stat.st_dev, stat.st_ino)
            else:
                conn.execute("PRAGMA query_only=ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # reads the header
        except sqlite3.Error as exc:
            conn.close()
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            reason = _UNAVAILABLE.get(code, "cannot open the database")
            raise DatabaseUnavailable(f"cannot open database {self.path}: {reason} ({exc})") from None
        except BaseException:
            conn.close()
            raise
        return conn

    def _thread_start(self, ready: asyncio.Future[None], writer: bool) -> sqlite3.Connection | None:
        try:
            conn = self._connect(writer)
        except BaseException as exc:
            self._answer(ready, None, exc)
            return None
        self._answer(ready, None, None)
        return conn

    def _reader_main(self, ready: asyncio.Future[None]) -> None:
        conn = self._thread_start(ready, writer=False)
        if conn is None:
            return
        try:
            while (call := self._reads.get()) is not _STOP:
                try:
                    result = _run(conn, call.kind, call.sql, call.args)
                except sqlite3.Error as exc:
                    self._answer(call.future, None, self.translate(exc))
                else:
                    self._answer(call.future, result, None)
        finally:
            conn.close()

    def _writer_main(self, ready: asyncio.Future[None]) -> None:
        conn = self._thread_start(ready, writer=True)
        if conn is None:
            return
        try:
            job = self._jobs.get()
            while job is not _STOP:
                job = self._batch(conn, job)
        finally:
            if conn.in_transaction:
                conn.rollback()
            conn.close()

    def _batch(self, conn: sqlite3.Connection, job: Any) -> Any:
        """Run ``job`` and every job queued behind it, then one COMMIT; returns the next job."""
        pending: list[Answer] = []
        following: Any = None
        try:
            conn.execute("BEGIN IMMEDIATE")
            while True:
                error = self._savepoint(conn, job, pending)
                if error is not None and not conn.in_transaction:
                    # SQLite rolled the whole batch back (a full disk or an I/O error can): every
                    # transaction that was waiting for this commit failed with it.
                    self._answer_all([(future, None, failure or error) for future, _, failure in pending])
                    return self._jobs.get()
                if len(pending) >= BATCH_LIMIT:
                    break
                try:
                    following = self._jobs.get_nowait()
                except queue.Empty:
                    following = None
                    break
                if following is _STOP:
                    break
                job, following = following, None
            self._commit(conn, pending)
        except Exception as exc:  # BEGIN or a SAVEPOINT failed, or a bug: fail this batch, go on
            if isinstance(exc, sqlite3.Error):
                error = self.translate(exc)
            else:
                log.exception("database writer failed")
                error = DatabaseError(f"internal error in the database writer: {exc}")
            if conn.in_transaction:
                conn.rollback()
            self._answer_all([(future, None, failure or error) for future, _, failure in pending] + [(job.future, None, error)])
        return following if following is not None else self._jobs.get()

    def _savepoint(self, conn: sqlite3.Connection, job: _Call | _Tx, pending: list[Answer]) -> BaseException | None:
        """Run one job in a savepoint; its answer joins ``pending`` (sent after COMMIT). A
        failure is rolled back to the savepoint and fails alone. Returns the failure."""
        conn.execute("SAVEPOINT job")
        error: BaseException | None
        try:
            if isinstance(job, _Tx):
                result = self._drive(conn, job.body)
            else:
                result = _run(conn, job.kind, job.sql, job.args)
            error = None
        except sqlite3.Error as exc:
            result, error = None, self.translate(exc)
        except Exception as exc:  # the body's own error (e.g. an ApiError): the caller gets it
            result, error = None, exc
        if error is None:
            conn.execute("RELEASE job")
            pending.append((job.future, result, None))
            return None
        if conn.in_transaction:
            conn.execute("ROLLBACK TO job")
            conn.execute("RELEASE job")
        # Answered with the batch, not now: the failure may come from a conflict with a
        # transaction of this batch, and the caller must be able to read that one's rows.
        pending.append((job.future, None, error))
        return error

    def _drive(self, conn: sqlite3.Connection, body: Callable[[Queries], Awaitable[Any]]) -> Any:
        """Run the coroutine ``body(tx)`` to its end here: ``tx`` methods finish without
        suspending, so a body that suspends is awaiting something else and is refused."""
        tx = _WriterQueries(self, conn)
        scope = TransactionScope()
        scope.enter()
        try:
            result = drive(body(tx))
        finally:
            scope.exit()
        if tx.failed is not None:
            raise tx.failed  # a statement failed and the body went on: the transaction fails
        return result

    def _commit(self, conn: sqlite3.Connection, pending: list[Answer]) -> None:
        error: DatabaseError | None = self._file_moved()
        if error is None:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                error = self.translate(exc)
        if error is not None:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._answer_all([(future, None, failure or error) for future, _, failure in pending])
            return
        self.commits += 1
        self.availability.ok()
        self._answer_all(pending)


class _WriterQueries:
    """A transaction body's ``tx`` on SQLite: runs each statement right here, on the writer."""

    __slots__ = ("_db", "_conn", "failed")

    def __init__(self, db: SqliteDatabase, conn: sqlite3.Connection) -> None:
        self._db = db
        self._conn = conn
        self.failed: DatabaseError | None = None

    def _call(self, kind: str, sql: str, args: Any) -> Any:
        if self.failed is not None:
            raise DatabaseError(f"transaction failed earlier: {self.failed}")
        try:
            return _run(self._conn, kind, sql, args)
        except sqlite3.Error as exc:
            self.failed = self._db.translate(exc)
            raise self.failed from None

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return self._call("fetch", sql, args)  # type: ignore[no-any-return]

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        return self._call("fetchone", sql, args)  # type: ignore[no-any-return]

    async def execute(self, sql: str, *args: Any) -> int:
        return self._call("execute", sql, args)  # type: ignore[no-any-return]

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        self._call("executemany", sql, list(args))


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _settle_all(answers: list[Answer]) -> None:
    for future, result, error in answers:
        _settle(future, result, error)


def _unique_violation(text: str) -> UniqueViolation:
    """``UNIQUE constraint failed: users.username`` (or ``t.a, t.b``) -> table and columns."""
    names = [part.strip() for part in text.split(":", 1)[1].split(",")]
    table = names[0].split(".", 1)[0]
    return UniqueViolation(table, tuple(name.split(".", 1)[-1] for name in names), text)
