"""SqliteStore against a real file: lookups, uniqueness, reopening, durability across kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from host.storage import Account, IdentityInUse, Store, StoreClosed, UsernameInUse
from host.storage.store_sqlite import SqliteStore

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def store(tmp_path: Path) -> Store:
    s = SqliteStore(tmp_path / "data" / "nkhost.db", clock=lambda: 1_700_000_000.5)
    await s.open()
    yield s
    await s.close()


async def test_is_a_store(store: Store) -> None:
    assert isinstance(store, Store)


async def test_pragmas_wal_and_full_sync(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "x.db")
    await s.open()
    try:
        modes = await s._run(lambda: (
            s._db().execute("PRAGMA journal_mode").fetchone()[0],
            s._db().execute("PRAGMA synchronous").fetchone()[0],
            s._db().execute("PRAGMA user_version").fetchone()[0],
        ))
    finally:
        await s.close()
    assert modes == ("wal", 2, 1)  # synchronous 2 == FULL


async def test_create_and_lookup_every_way(store: Store) -> None:
    dev = await store.create_account("alice", device_id="device-0001")
    cus = await store.create_account("bob", custom_id="custom-01")
    eml = await store.create_account("carol", email="carol@example.com", password_hash=b"$2b$hash")

    assert dev.devices == ["device-0001"] and dev.create_time == dev.update_time == 1_700_000_000
    assert (await store.account_by_device("device-0001")).id == dev.id
    assert (await store.account_by_custom_id("custom-01")).id == cus.id
    got = await store.account_by_email("carol@example.com")
    assert got.id == eml.id and got.password_hash == b"$2b$hash"
    assert (await store.account_by_username("carol")).id == eml.id
    full = await store.get_account(dev.id)
    assert full == Account(
        id=dev.id, username="alice", devices=["device-0001"], create_time=1_700_000_000, update_time=1_700_000_000
    )
    assert full.lang_tag == "en" and full.metadata == "{}" and full.wallet == "{}"


async def test_missing_lookups_return_none(store: Store) -> None:
    assert await store.get_account("00000000-0000-0000-0000-000000000000") is None
    assert await store.account_by_device("nope-nope-nope") is None
    assert await store.account_by_custom_id("nope") is None
    assert await store.account_by_email("a@b.cd") is None
    assert await store.account_by_username("nobody") is None


async def test_username_unique_case_sensitive(store: Store) -> None:
    await store.create_account("alice", device_id="device-0001")
    with pytest.raises(UsernameInUse):
        await store.create_account("alice", device_id="device-0002")
    # Nothing half-written: the device of the failed create is not linked.
    assert await store.account_by_device("device-0002") is None
    await store.create_account("Alice", device_id="device-0003")  # Nakama's UNIQUE is case-sensitive


@pytest.mark.parametrize(
    "links, kind",
    [
        ({"device_id": "device-0001"}, "device"),
        ({"custom_id": "custom-01"}, "custom_id"),
        ({"email": "a@example.com"}, "email"),
    ],
)
async def test_identity_unique(store: Store, links: dict[str, str], kind: str) -> None:
    await store.create_account("first", **links)
    with pytest.raises(IdentityInUse) as info:
        await store.create_account("second", **links)
    assert info.value.kind == kind
    assert await store.account_by_username("second") is None


async def test_disable_time(store: Store) -> None:
    acc = await store.create_account("alice", custom_id="custom-01")
    assert await store.set_disable_time(acc.id, 1_700_000_100)
    assert (await store.get_account(acc.id)).disabled
    assert await store.set_disable_time(acc.id, 0)
    assert not (await store.get_account(acc.id)).disabled
    assert not await store.set_disable_time("00000000-0000-0000-0000-000000000000", 5)


async def test_reopen_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "nkhost.db"
    s = SqliteStore(path)
    await s.open()
    acc = await s.create_account("alice", device_id="device-0001", custom_id="custom-01")
    await s.close()

    s2 = SqliteStore(path)
    await s2.open()  # migrations already applied: a no-op
    try:
        again = await s2.account_by_device("device-0001")
        assert again is not None and again.id == acc.id and again.custom_id == "custom-01"
    finally:
        await s2.close()


async def test_closed_store_raises(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "nkhost.db")
    with pytest.raises(StoreClosed):
        await s.get_account("x")
    await s.open()
    await s.close()
    await s.close()  # idempotent
    with pytest.raises(StoreClosed):
        await s.account_by_username("x")


async def test_newer_schema_refused(tmp_path: Path) -> None:
    path = tmp_path / "nkhost.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(sqlite3.DatabaseError, match="newer"):
        await SqliteStore(path).open()


async def test_calls_run_off_the_loop_thread(store: SqliteStore) -> None:
    names = await store._run(lambda: threading.current_thread().name)
    assert names.startswith("nkhost-sqlite")
    # Concurrent calls queue on the one thread and all succeed.
    accounts = await asyncio.gather(*(store.create_account(f"user{i}", device_id=f"device-{i:06d}") for i in range(20)))
    assert len({a.id for a in accounts}) == 20


_CHILD = textwrap.dedent(
    """
    import asyncio, os, sys
    from host.storage.store_sqlite import SqliteStore

    async def main(path):
        store = SqliteStore(path)
        await store.open()
        for i in range(100_000):          # still writing when the parent kills it
            await store.create_account(f"user{i}", device_id=f"device-{i:06d}")
            print(i, flush=True)          # acknowledged only after create_account returned

    asyncio.run(main(sys.argv[1]))
    """
)


async def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "nkhost.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    acknowledged = []
    try:
        for line in proc.stdout:  # blocks only until the child prints; no sleeps
            acknowledged.append(int(line))
            if len(acknowledged) == 30:
                break  # kill while later creates are in flight
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert acknowledged == list(range(30))

    s = SqliteStore(path)
    await s.open()
    try:
        for i in acknowledged:
            acc = await s.account_by_device(f"device-{i:06d}")
            assert acc is not None and acc.username == f"user{i}"
    finally:
        await s.close()
