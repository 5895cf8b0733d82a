"""The Database API on both engines (same code, same answers), then what each engine adds:
SQLite's group commit and broken-file handling, PostgreSQL's pool and a server that goes away."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from host.storage import Database, DatabaseClosed, DatabaseError, DatabaseUnavailable, Queries, Schema, SchemaError, UniqueViolation
from host.storage.address import engine_of, parse_address
from host.storage.database import dollar_placeholders
from host.storage.migrate import migrate, schema_status
from host.storage.postgres import PostgresDatabase
from host.storage.sqlite import SqliteDatabase

KV = Schema("kv", ["CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL, data {json}, flag {bool}, raw {bytes})"])


@pytest.fixture
async def db(engine: str, new_database) -> Database:
    db = await new_database(engine, migrated=False)
    await migrate(db, [KV])
    return db


def unavailable_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("database unavailable")]


# The API, both engines ----------------------------------------------------------------


async def test_queries_and_rowcounts(db: Database) -> None:
    assert await db.execute("INSERT INTO kv (k, v, data, raw) VALUES (?, ?, ?, ?)", "a", 1, '{"x": 1}', b"\x00\xff") == 1
    await db.executemany("INSERT INTO kv (k, v) VALUES (?, ?)", [("b", 2), ("c", 3)])
    assert await db.execute("UPDATE kv SET v = v + 10 WHERE k <> ?", "a") == 2
    assert [tuple(r) for r in await db.fetch("SELECT k, v FROM kv ORDER BY k")] == [("a", 1), ("b", 12), ("c", 13)]
    k, v, raw = await db.fetchone("SELECT k, v, raw FROM kv WHERE k = ?", "a")
    assert (k, v, bytes(raw)) == ("a", 1, b"\x00\xff")
    assert await db.fetchone("SELECT k FROM kv WHERE k = ?", "zz") is None
    assert await db.execute("DELETE FROM kv WHERE k = ?", "zz") == 0


async def test_placeholder_inside_a_literal_is_text(db: Database) -> None:
    await db.execute("INSERT INTO kv (k, v) VALUES ('what?', ?)", 5)
    assert tuple(await db.fetchone("SELECT k, v FROM kv WHERE v = ?", 5)) == ("what?", 5)
    assert dollar_placeholders("SELECT '?', \"a?\", ? -- ?\n, ?") == "SELECT '?', \"a?\", $1 -- ?\n, $2"


async def test_upsert_is_the_same_sql_on_both(db: Database) -> None:
    sql = "INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = kv.v + excluded.v"
    for _ in range(3):
        await db.execute(sql, "n", 2)
    assert (await db.fetchone("SELECT v FROM kv WHERE k = 'n'"))[0] == 6


async def test_unique_violation_names_table_and_columns(db: Database) -> None:
    await db.execute("INSERT INTO kv (k, v) VALUES ('a', 1)")
    with pytest.raises(UniqueViolation) as info:
        await db.execute("INSERT INTO kv (k, v) VALUES ('a', 2)")
    assert (info.value.table, info.value.columns) == ("kv", ("k",))


async def test_transact_commits_and_returns(db: Database) -> None:
    async def body(tx: Queries) -> int:
        await tx.execute("INSERT INTO kv (k, v) VALUES ('a', 1)")
        (v,) = await tx.fetchone("SELECT v FROM kv WHERE k = 'a'")  # sees its own write
        await tx.execute("UPDATE kv SET v = ? WHERE k = 'a'", v + 1)
        return v + 1

    assert await db.transact(body) == 2
    assert (await db.fetchone("SELECT v FROM kv"))[0] == 2


async def test_transact_rolls_back_on_the_body_error(db: Database) -> None:
    async def body(tx: Queries) -> None:
        await tx.execute("INSERT INTO kv (k, v) VALUES ('a', 1)")
        raise LookupError("no")

    with pytest.raises(LookupError):
        await db.transact(body)
    assert await db.fetch("SELECT k FROM kv") == []


async def test_a_failed_statement_fails_the_transaction_even_if_swallowed(db: Database) -> None:
    await db.execute("INSERT INTO kv (k, v) VALUES ('a', 1)")

    async def body(tx: Queries) -> None:
        await tx.execute("INSERT INTO kv (k, v) VALUES ('b', 1)")
        try:
            await tx.execute("INSERT INTO kv (k, v) VALUES ('a', 1)")
        except UniqueViolation:
            pass
        await tx.execute("INSERT INTO kv (k, v) VALUES ('c', 1)")

    with pytest.raises(DatabaseError):
        await db.transact(body)
    assert [k for (k,) in await db.fetch("SELECT k FROM kv ORDER BY k")] == ["a"]


async def test_database_calls_inside_a_body_are_refused(db: Database) -> None:
    async def body(tx: Queries) -> None:
        await db.execute("INSERT INTO kv (k, v) VALUES ('a', 1)")

    with pytest.raises(DatabaseError, match="inside a transaction body"):
        await db.transact(body)
    assert await db.fetch("SELECT k FROM kv") == []


async def test_concurrent_read_modify_write_loses_nothing(db: Database) -> None:
    await db.execute("INSERT INTO kv (k, v) VALUES ('counter', 0)")

    async def bump(tx: Queries) -> None:
        (v,) = await tx.fetchone("SELECT v FROM kv WHERE k = 'counter'" + db.dialect.for_update)
        await tx.execute("UPDATE kv SET v = ? WHERE k = 'counter'", v + 1)

    await asyncio.gather(*(db.transact(bump) for _ in range(50)))
    assert (await db.fetchone("SELECT v FROM kv WHERE k = 'counter'"))[0] == 50


async def test_dialect_types(db: Database) -> None:
    await db.execute("INSERT INTO kv (k, v, data, flag) VALUES ('a', 1, ?, ?)", '{"b": [1, 2]}', True)
    data, flag = await db.fetchone("SELECT data, flag FROM kv")
    assert isinstance(data, str) and json.loads(data) == {"b": [1, 2]}
    assert bool(flag) is True
    await db.execute("INSERT INTO kv (k, v) VALUES ('Mixed', 2)")
    assert [k for (k,) in await db.fetch(f"SELECT k FROM kv WHERE k {db.dialect.ilike} ?", "mix%")] == ["Mixed"]


async def test_closed_database_raises(engine: str, new_database) -> None:
    db = await new_database(engine, migrated=False)
    await db.close()
    await db.close()  # idempotent
    with pytest.raises(DatabaseClosed):
        await db.fetch("SELECT 1")


# Migrations, both engines ---------------------------------------------------------------


async def test_migrations_apply_once_in_order_and_report(engine: str, new_database) -> None:
    db = await new_database(engine, migrated=False)
    one = Schema("one", ["CREATE TABLE one_a (id INTEGER PRIMARY KEY)", "ALTER TABLE one_a ADD COLUMN name TEXT; CREATE TABLE one_b (x INTEGER)"])
    two = Schema("two", [{"sqlite": "CREATE TABLE two_a (j TEXT)", "postgres": "CREATE TABLE two_a (j JSONB)"}])
    assert [(s.feature, s.applied, s.latest) for s in await schema_status(db, [one, two])] == [("one", 0, 2), ("two", 0, 1)]
    assert await migrate(db, [one, two]) == [("one", 1), ("one", 2), ("two", 1)]
    assert await migrate(db, [one, two]) == []
    await db.execute("INSERT INTO one_a (id, name) VALUES (1, 'x')")
    grown = Schema("one", [*one.steps, "CREATE TABLE one_c (y INTEGER)"])
    assert [s.pending for s in await schema_status(db, [grown, two])] == [1, 0]
    assert await migrate(db, [grown, two]) == [("one", 3)]


async def test_a_failing_migration_keeps_nothing(engine: str, new_database) -> None:
    db = await new_database(engine, migrated=False)
    bad = Schema("bad", ["CREATE TABLE bad_a (x INTEGER)", "CREATE TABLE bad_b (x INTEGER); THIS IS NOT SQL"])
    with pytest.raises(SchemaError, match="migration bad 2 failed"):
        await migrate(db, [bad])
    assert [s.applied for s in await schema_status(db, [bad])] == [0]
    await db.execute("CREATE TABLE bad_a (x INTEGER)")  # step 1 was rolled back too


async def test_a_newer_schema_is_refused(engine: str, new_database) -> None:
    db = await new_database(engine, migrated=False)
    await migrate(db, [Schema("f", ["CREATE TABLE f1 (x INTEGER)", "CREATE TABLE f2 (x INTEGER)"])])
    with pytest.raises(SchemaError, match="newer than this nkhost knows"):
        await migrate(db, [Schema("f", ["CREATE TABLE f1 (x INTEGER)"])])


# SQLite ---------------------------------------------------------------------------------


@pytest.fixture
async def lite(tmp_path: Path) -> SqliteDatabase:
    db = SqliteDatabase(tmp_path / "data" / "nkhost.db")
    await db.open()
    await migrate(db, [KV])
    yield db
    await db.close()


async def test_sqlite_wal_full_sync_and_threads(lite: SqliteDatabase) -> None:
    raw = sqlite3.connect(lite.path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()

    async def writer_settings(tx: Queries) -> tuple[str, int]:
        (synchronous,) = await tx.fetchone("PRAGMA synchronous")
        return threading.current_thread().name, synchronous

    assert await lite.transact(writer_settings) == ("nkhost-sqlite-writer", 2)  # 2 == FULL


async def test_sqlite_group_commit_one_fsync_for_many_and_one_failure_fails_alone(lite: SqliteDatabase) -> None:
    await lite.execute("INSERT INTO kv (k, v) VALUES ('taken', 0)")
    before = lite.commits

    def body(i: int):
        async def write(tx: Queries) -> int:
            await tx.execute("INSERT INTO kv (k, v) VALUES (?, ?)", "taken" if i == 17 else f"k{i}", i)
            return i
        return write

    results = await asyncio.gather(*(lite.transact(body(i)) for i in range(64)), return_exceptions=True)
    assert isinstance(results[17], UniqueViolation)
    assert [r for i, r in enumerate(results) if i != 17] == [i for i in range(64) if i != 17]
    assert lite.commits - before < 20  # batched: far fewer commits than transactions
    assert (await lite.fetchone("SELECT count(*) FROM kv"))[0] == 64


async def test_sqlite_a_body_that_awaits_something_else_is_refused(lite: SqliteDatabase) -> None:
    async def body(tx: Queries) -> None:
        await tx.execute("INSERT INTO kv (k, v) VALUES ('a', 1)")
        await asyncio.sleep(0)

    with pytest.raises(DatabaseError, match="may await only database calls"):
        await lite.transact(body)
    assert await lite.fetch("SELECT k FROM kv") == []


async def test_sqlite_file_deleted_refuses_writes_loudly_and_recovers_when_back(lite: SqliteDatabase, caplog) -> None:
    caplog.set_level(logging.INFO, "nkhost.storage")
    await lite.execute("INSERT INTO kv (k, v) VALUES ('a', 1)")
    moved = lite.path.with_name("elsewhere.db")
    os.rename(lite.path, moved)
    for i in range(3):
        with pytest.raises(DatabaseUnavailable, match="deleted or moved while the server was running"):
            await lite.execute("INSERT INTO kv (k, v) VALUES (?, 2)", f"lost{i}")
    assert len(unavailable_lines(caplog)) == 1  # one line, however many writes fail
    os.rename(moved, lite.path)
    await lite.execute("INSERT INTO kv (k, v) VALUES ('b', 2)")
    assert [k for (k,) in await lite.fetch("SELECT k FROM kv ORDER BY k")] == ["a", "b"]
    assert any("available again" in r.getMessage() for r in caplog.records)


async def test_sqlite_file_replaced_refuses_writes(lite: SqliteDatabase) -> None:
    os.unlink(lite.path)
    lite.path.write_bytes(b"")
    with pytest.raises(DatabaseUnavailable, match="replaced by another file"):
        await lite.execute("INSERT INTO kv (k, v) VALUES ('a', 1)")


async def test_sqlite_disk_full_is_a_clean_error_and_one_log_line(lite: SqliteDatabase, caplog) -> None:
    caplog.set_level(logging.INFO, "nkhost.storage")
    (pages,) = await lite.fetchone("PRAGMA page_count")
    await lite.execute(f"PRAGMA max_page_count = {pages + 1}")  # SQLITE_FULL past one more page
    big = "x" * 100_000
    for _ in range(3):
        with pytest.raises(DatabaseUnavailable, match="database or disk is full"):
            await lite.execute("INSERT INTO kv (k, v, data) VALUES (?, 1, ?)", os.urandom(4).hex(), big)
    assert len(unavailable_lines(caplog)) == 1
    await lite.execute("PRAGMA max_page_count = 1000000")
    await lite.execute("INSERT INTO kv (k, v) VALUES ('fits', 1)")
    assert (await lite.fetchone("SELECT count(*) FROM kv"))[0] == 1


async def test_sqlite_corrupt_header_refused_at_open(tmp_path: Path) -> None:
    path = tmp_path / "nkhost.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DatabaseUnavailable, match=r"cannot open database .*nkhost.db: the file is not a SQLite database"):
        await SqliteDatabase(path).open()


async def test_sqlite_unwritable_directory_refused_at_open(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(DatabaseUnavailable, match="cannot create the directory"):
        await SqliteDatabase(tmp_path / "file" / "sub" / "nkhost.db").open()


# PostgreSQL -----------------------------------------------------------------------------


def test_addresses() -> None:
    assert engine_of("") == engine_of("data/x.db") == engine_of("sqlite:/a@b.db") == "sqlite"
    assert engine_of("root@localhost:26257") == engine_of("postgres://h/db") == engine_of("postgresql://h") == "postgres"
    assert parse_address("root@localhost:26257") == "postgres://root@localhost:26257/nakama"
    assert parse_address("u:p%40ss@db.example:5433/game") == "postgres://u:p%40ss@db.example:5433/game"
    assert parse_address("postgresql://u@h/d?sslmode=disable") == "postgres://u@h:5432/d?sslmode=disable"
    with pytest.raises(ValueError):
        parse_address("mysql://x@h/d")


async def test_postgres_pool_respects_max_open_and_lifetime(pg_cluster) -> None:
    db = PostgresDatabase(pg_cluster.create_database("pool_limits"), max_open=2, max_idle=1, max_lifetime=3600)
    await db.open()
    pool = db._pool
    peak = 0
    connect = pool._connect

    async def counting() -> object:
        nonlocal peak
        peak = max(peak, pool._open)
        return await connect()

    pool._connect = counting
    try:
        await asyncio.gather(*(db.fetch("SELECT pg_sleep(0.01)") for _ in range(10)))
        assert peak == 2 and len(pool._idle) == 1
        pool.max_lifetime = 1e-9  # every connection is now too old: each use opens a new one
        (pid1,) = await db.fetchone("SELECT pg_backend_pid()")
        (pid2,) = await db.fetchone("SELECT pg_backend_pid()")
        assert pid1 != pid2
    finally:
        await db.close()


async def test_postgres_unreachable_at_open_is_one_clear_error(caplog) -> None:
    from tests.pg import free_port

    db = PostgresDatabase(f"postgres://postgres@127.0.0.1:{free_port()}/x")
    with pytest.raises(DatabaseUnavailable, match=r"cannot connect to PostgreSQL at 127.0.0.1:\d+/x"):
        await db.open()
    assert unavailable_lines(caplog) == []  # the caller logs the failure to start


async def test_postgres_server_gone_then_back(pg_cluster, caplog) -> None:
    caplog.set_level(logging.INFO, "nkhost.storage")
    db = PostgresDatabase(pg_cluster.create_database("gone_and_back"))
    await db.open()
    try:
        await migrate(db, [KV])
        await db.execute("INSERT INTO kv (k, v) VALUES ('a', 1)")
        await asyncio.to_thread(pg_cluster.stop, "immediate")
        try:
            for _ in range(3):
                with pytest.raises(DatabaseUnavailable):
                    await db.execute("INSERT INTO kv (k, v) VALUES ('b', 2)")
            assert len(unavailable_lines(caplog)) == 1
        finally:
            await asyncio.to_thread(pg_cluster.start)
        await db.execute("INSERT INTO kv (k, v) VALUES ('c', 3)")  # recovered: new connections
        assert [k for (k,) in await db.fetch("SELECT k FROM kv ORDER BY k")] == ["a", "c"]
        assert any("available again" in r.getMessage() for r in caplog.records)
    finally:
        await db.close()


async def test_a_conflict_is_answered_once_the_winner_is_readable(db: Database) -> None:
    """The loser of a unique race reads the winner's row right after its error (SQLite
    answers a failed transaction with its batch, after the COMMIT, not before)."""

    async def insert() -> str:
        try:
            await db.execute("INSERT INTO kv (k, v) VALUES ('race', 1)")
            return "won"
        except UniqueViolation:
            row = await db.fetchone("SELECT v FROM kv WHERE k = 'race'")
            return "lost, saw the winner" if row is not None else "lost, saw nothing"

    results = await asyncio.gather(*(insert() for _ in range(8)))
    assert sorted(results) == ["lost, saw the winner"] * 7 + ["won"]


async def test_sqlite_serves_a_thread_without_a_loop_directly(lite: SqliteDatabase) -> None:
    """What nk functions do on a Lua worker: drive the coroutine right there, no loop."""
    from host.storage.database import drive

    async def body(tx: Queries) -> int:
        await tx.execute("INSERT INTO kv (k, v) VALUES ('w', 7)")
        return 7

    def on_a_worker() -> tuple[object, ...]:
        written = drive(lite.transact(body), timeout=10)
        (v,) = drive(lite.fetchone("SELECT v FROM kv WHERE k = 'w'"))
        changed = drive(lite.execute("UPDATE kv SET v = v + 1 WHERE k = 'w'"))
        return written, v, changed, threading.current_thread().name

    written, v, changed, name = await asyncio.to_thread(on_a_worker)
    assert (written, v, changed) == (7, 7, 1) and name != "MainThread"
    assert (await lite.fetchone("SELECT v FROM kv WHERE k = 'w'"))[0] == 8
    with pytest.raises(DatabaseError, match="may await only database calls"):
        await asyncio.to_thread(drive, asyncio.sleep(0.01))
