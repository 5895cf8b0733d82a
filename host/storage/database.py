"""The database API every feature uses, the same on SQLite and PostgreSQL (see README.md here).

A ``Database`` runs SQL written once, with ``?`` placeholders (PostgreSQL's engine turns them
into ``$1, $2, ...``). Rows are sequences read by position (tuples on SQLite, asyncpg Records
on PostgreSQL): unpack them, never index them by name. Every method is a coroutine that never
blocks the event loop, and a write has returned only once it is durable.

``await db.transact(body)`` runs ``async def body(tx)`` as one atomic transaction: committed
when the body returns (``transact`` then returns its result), rolled back when it raises (and
the error reaches the caller). The body awaits only ``tx``'s methods and computes: SQLite runs
it on its writer thread (no thread hand-off per statement), PostgreSQL on the loop, where it
may be run again after a deadlock. So: no other awaits, no side effects outside the database,
nothing slow (hash a password before, not inside). A statement that fails inside a body fails
the whole transaction on both engines (PostgreSQL aborts it anyway): let the error propagate,
and use ``ON CONFLICT`` to branch on a conflict instead. A call on the database itself from
inside a body is refused (on SQLite it would wait for the very transaction it runs in).

What differs by dialect lives in ``Dialect``: the type names that DDL writes as ``{uuid}``,
``{json}``, ``{bytes}`` and ``{bool}``, the case-insensitive ``LIKE``, and ``FOR UPDATE``
(SQLite has one writer, so it needs no row locks and has no such clause).
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol, TypeVar, runtime_checkable

from host.storage.errors import DatabaseError, DatabaseUnavailable

__all__ = [
    "Row", "Queries", "Database", "Dialect", "SQLITE", "POSTGRES", "dollar_placeholders", "Availability", "drive",
    "AWAITS_ONLY_DATABASE", "blocking_deadline",
]

log = logging.getLogger("nkhost.storage")

Row = Sequence[Any]
T = TypeVar("T")


class Queries(Protocol):
    """What a database and a transaction both run."""

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """Every row of a query."""

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        """The first row of a query, or None."""

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; the number of rows it changed (0 for DDL)."""

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        """Run one statement once per argument tuple, all or nothing."""


@runtime_checkable
class Database(Queries, Protocol):
    """One engine. Outside ``transact`` each write is its own transaction."""

    dialect: Dialect
    blocking: bool
    """True when the methods may also be called from a thread that runs no event loop (a Lua
    worker): there they block that thread, never a loop, and finish without suspending, so
    ``drive(core_coroutine())`` runs a feature's database work right on the worker with no
    hand-off to the loop. SQLite: True; PostgreSQL (asyncpg lives on the loop): False."""
    exclusive: bool
    """True when this process is the database's only writer (SQLite: one nkhost owns its
    file), so a feature may cache rows of its own tables, as long as every write to them goes
    through that feature. PostgreSQL: False (several nodes may share it)."""

    async def open(self) -> None:
        """Connect (raises DatabaseUnavailable with a clear reason when it cannot)."""

    async def close(self) -> None:
        """Finish what was submitted, then disconnect; later calls raise DatabaseClosed."""

    async def transact(self, body: Callable[[Queries], Awaitable[T]]) -> T:
        """Run ``body(tx)`` as one atomic transaction; its result once committed."""


@dataclass(frozen=True, slots=True)
class Dialect:
    """What a feature's SQL may need to know about the engine."""

    name: str  # "sqlite" or "postgres"
    types: Mapping[str, str]  # {name} in DDL -> this engine's type
    ilike: str  # case-insensitive LIKE operator
    for_update: str  # appended to a SELECT that reads rows it will write (PostgreSQL locks them)

    def ddl(self, sql: str) -> str:
        """Replace ``{uuid}``, ``{json}``, ``{bytes}``, ``{bool}``; other braces (``'{}'``) stay."""
        for name, type_name in self.types.items():
            sql = sql.replace("{" + name + "}", type_name)
        return sql


SQLITE = Dialect("sqlite", {"uuid": "TEXT", "json": "TEXT", "bytes": "BLOB", "bool": "INTEGER"}, "LIKE", "")
POSTGRES = Dialect(
    "postgres", {"uuid": "UUID", "json": "JSONB", "bytes": "BYTEA", "bool": "BOOLEAN"}, "ILIKE", " FOR UPDATE"
)


_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|\?", re.S)


@lru_cache(maxsize=2048)
def dollar_placeholders(sql: str) -> str:
    """``?`` -> ``$1, $2, ...``, leaving quoted strings, identifiers and comments alone."""
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group() != "?":
            return match.group()
        count += 1
        return f"${count}"

    return _TOKENS.sub(number, sql)


class Availability:
    """Logs one line when the database stops serving and one when it serves again, however
    many calls fail in between (so a full disk or a stopped server never floods the log)."""

    __slots__ = ("what", "armed", "_down")

    def __init__(self, what: str) -> None:
        self.what = what
        self.armed = True  # False while opening: the caller reports that failure itself
        self._down: str | None = None

    def failed(self, reason: str) -> DatabaseUnavailable:
        if self._down != reason and self.armed:
            self._down = reason
            log.error("database unavailable (%s): %s", self.what, reason)
        return DatabaseUnavailable(f"{reason} ({self.what})")

    def ok(self) -> None:
        if self._down is not None:
            self._down = None
            log.warning("database available again (%s)", self.what)

    @property
    def down(self) -> str | None:
        return self._down


AWAITS_ONLY_DATABASE = "a coroutine driven on a thread may await only database calls (and a transaction body only its tx)"


_thread = threading.local()


def blocking_deadline() -> float | None:
    """When this thread's blocking database calls give up (``time.monotonic()``), or None."""
    return getattr(_thread, "deadline", None)


def drive(coro: Any, timeout: float | None = None) -> Any:
    """Run a coroutine to its end on this thread, for coroutines whose every await finishes
    without suspending (a ``blocking`` database's methods off the loop, a transaction body's
    ``tx`` on SQLite's writer). One that suspends is awaiting something else: refused.
    ``timeout`` bounds how long its database calls may block this thread."""
    _thread.deadline = None if timeout is None else time.monotonic() + timeout
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    except RuntimeError as exc:
        if "event loop" not in str(exc):
            raise
        raise DatabaseError(f"{AWAITS_ONLY_DATABASE} ({exc})") from None
    coro.close()
    raise DatabaseError(AWAITS_ONLY_DATABASE)


_CURRENT_TX: contextvars.ContextVar[Any] = contextvars.ContextVar("nkhost_db_transaction", default=None)


class TransactionScope:
    """Marks the running task as inside a transaction body, so the database can refuse calls
    that would wait on that very transaction. ``open`` turns false when the body ends, so tasks
    the body spawned (they copy the context) are free again afterwards."""

    __slots__ = ("open", "_token")

    def __init__(self) -> None:
        self.open = True
        self._token: contextvars.Token[Any] | None = None

    def enter(self) -> None:
        self._token = _CURRENT_TX.set(self)

    def exit(self) -> None:
        self.open = False
        if self._token is not None:
            _CURRENT_TX.reset(self._token)
            self._token = None


def refuse_inside_transaction() -> None:
    scope = _CURRENT_TX.get()
    if scope is not None and scope.open:
        raise DatabaseError("database called inside a transaction body: use the transaction's own methods")
