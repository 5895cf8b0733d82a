"""Errors of the database layer, the same for every engine, so callers never see a driver's types.

Hierarchy::

    DatabaseError
    ├── DatabaseClosed: used before open() or after close()
    ├── DatabaseUnavailable: the database cannot serve right now (file deleted or replaced, disk
    │   full, server gone, connection refused); the engine logged one line saying why, and the
    │   next call tries again, so the server recovers when the database returns
    ├── SchemaError: the schema cannot be brought up to date (a migration failed, or the
    │   database was migrated by a newer nkhost)
    └── UniqueViolation: a UNIQUE or PRIMARY KEY constraint refused a row

A failed statement inside ``transaction()`` fails that transaction only: its changes are undone.
"""

from __future__ import annotations

__all__ = ["DatabaseError", "DatabaseClosed", "DatabaseUnavailable", "SchemaError", "UniqueViolation"]


class DatabaseError(Exception):
    """Base class of database failures; ``str()`` is one line fit for a log."""


class DatabaseClosed(DatabaseError):
    def __init__(self) -> None:
        super().__init__("database is not open")


class DatabaseUnavailable(DatabaseError):
    """The database could not run the statement for a reason outside the statement itself."""


class SchemaError(DatabaseError):
    """Migrations could not be applied; nothing of the failed step was kept."""


class UniqueViolation(DatabaseError):
    """``table`` and ``columns`` name the constraint the same way on every engine:
    ``("users", ("username",))`` whether SQLite said ``users.username`` or PostgreSQL
    ``users_username_key`` with ``Key (username)=(...)``."""

    def __init__(self, table: str, columns: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.table = table
        self.columns = columns
