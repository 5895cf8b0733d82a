"""Build the engine that ``database.address`` names (see ``address.py``); no I/O until ``open()``."""

from __future__ import annotations

from pathlib import Path

from host.config import Config
from host.storage.address import engine_of, parse_address
from host.storage.database import Database

__all__ = ["database_for"]


def database_for(config: Config) -> Database:
    address = config.database.address
    if engine_of(address) == "postgres":
        from host.storage.postgres import PostgresDatabase  # asyncpg only when PostgreSQL is used

        db = config.database
        return PostgresDatabase(
            parse_address(address),
            max_open=db.max_open_conns,
            max_idle=db.max_idle_conns,
            max_lifetime=db.conn_max_lifetime_ms / 1000,
        )
    from host.storage.sqlite import SqliteDatabase

    return SqliteDatabase(address.removeprefix("sqlite:") or str(Path(config.data_dir) / "nkhost.db"))
