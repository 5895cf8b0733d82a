"""The database layer: one API (``Database``), two engines (SQLite, PostgreSQL), migrations.

See ``host/storage/README.md`` for how a feature declares its tables and runs its queries.
"""

from __future__ import annotations

from host.storage.database import POSTGRES, SQLITE, Database, Dialect, Queries, Row
from host.storage.errors import DatabaseClosed, DatabaseError, DatabaseUnavailable, SchemaError, UniqueViolation
from host.storage.migrate import Schema

__all__ = [
    "Database", "Queries", "Row", "Dialect", "SQLITE", "POSTGRES", "Schema",
    "DatabaseError", "DatabaseClosed", "DatabaseUnavailable", "SchemaError", "UniqueViolation",
]
