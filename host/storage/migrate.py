"""Schema migrations: each feature owns an ordered list of steps, applied once, in order.

A ``Schema`` names its feature and lists its steps; step N (1-based) is version N. A step is
SQL run through ``Dialect.ddl`` (so ``{uuid}``, ``{json}``, ``{bytes}``, ``{bool}`` become
this engine's types), or a mapping ``{"sqlite": ..., "postgres": ...}`` where the dialects
differ. Statements are separated by ``;`` (keep ``;`` out of literals in DDL).

Applied steps are recorded in the table ``nkhost_migrations`` (feature, version, applied_at).
``migrate`` runs every missing step of every schema in one transaction, so a failing step keeps
nothing; on PostgreSQL it holds an advisory lock, so nodes starting together migrate once.
A database that holds a version newer than this nkhost knows is refused (SchemaError): an older
binary must not write into a schema it does not understand.

Never edit a step that was released: add a new one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from host.storage.database import Database, Dialect, Queries
from host.storage.errors import DatabaseError, SchemaError

__all__ = ["Schema", "SchemaStatus", "migrate", "schema_status", "TABLE"]

TABLE = "nkhost_migrations"
_CREATE = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    feature     TEXT NOT NULL,
    version     INTEGER NOT NULL,
    applied_at  BIGINT NOT NULL,
    PRIMARY KEY (feature, version)
)"""
_EXISTS = {
    "sqlite": "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
    "postgres": "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = ?",
}
_LOCK = {"postgres": "SELECT pg_advisory_xact_lock(7350014)"}  # any constant: one migrator at a time


@dataclass(frozen=True, slots=True)
class Schema:
    feature: str
    steps: Sequence[str | Mapping[str, str]]

    @property
    def latest(self) -> int:
        return len(self.steps)

    def statements(self, version: int, dialect: Dialect) -> list[str]:
        step = self.steps[version - 1]
        sql = step[dialect.name] if isinstance(step, Mapping) else step
        return [part.strip() for part in dialect.ddl(sql).split(";") if part.strip()]


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    feature: str
    applied: int  # highest version applied
    latest: int  # highest version this nkhost knows

    @property
    def pending(self) -> int:
        return max(self.latest - self.applied, 0)


async def _applied(db: Queries, dialect: Dialect) -> dict[str, int]:
    if await db.fetchone(_EXISTS[dialect.name], TABLE) is None:
        return {}
    rows = await db.fetch(f"SELECT feature, MAX(version) FROM {TABLE} GROUP BY feature")
    return {feature: int(version) for feature, version in rows}


def _check_names(schemas: Sequence[Schema]) -> None:
    names = [schema.feature for schema in schemas]
    if len(set(names)) != len(names):
        raise SchemaError(f"two schemas share a feature name: {sorted(names)}")


async def schema_status(db: Database, schemas: Sequence[Schema]) -> list[SchemaStatus]:
    """Where each schema stands; reads only."""
    _check_names(schemas)
    applied = await _applied(db, db.dialect)
    return [SchemaStatus(s.feature, applied.get(s.feature, 0), s.latest) for s in schemas]


async def migrate(
    db: Database, schemas: Sequence[Schema], clock: Callable[[], float] = time.time
) -> list[tuple[str, int]]:
    """Apply every missing step; returns the (feature, version) pairs applied, in order."""
    _check_names(schemas)

    async def body(tx: Queries) -> list[tuple[str, int]]:
        done: list[tuple[str, int]] = []
        if db.dialect.name in _LOCK:
            await tx.fetchone(_LOCK[db.dialect.name])
        await tx.execute(_CREATE)
        applied = await _applied(tx, db.dialect)
        for schema in schemas:
            current = applied.get(schema.feature, 0)
            if current > schema.latest:
                raise SchemaError(
                    f"the database holds version {current} of the {schema.feature!r} schema, newer than "
                    f"this nkhost knows ({schema.latest}): run a newer nkhost"
                )
            for version in range(current + 1, schema.latest + 1):
                for statement in schema.statements(version, db.dialect):
                    try:
                        await tx.execute(statement)
                    except DatabaseError as exc:
                        raise SchemaError(f"migration {schema.feature} {version} failed: {exc}") from None
                await tx.execute(
                    f"INSERT INTO {TABLE} (feature, version, applied_at) VALUES (?, ?, ?)",
                    schema.feature, version, int(clock()),
                )
                done.append((schema.feature, version))
        return done

    return await db.transact(body)
