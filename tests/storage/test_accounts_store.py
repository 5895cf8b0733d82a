"""AccountStore on both engines: lookups, uniqueness, reopening, durability across kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from host.accounts.store import Account, AccountStore, IdentityInUse, UsernameInUse
from host.app import schemas
from host.config import Config
from host.storage.engine import database_for
from host.storage.migrate import migrate
from tests.conftest import database_address

REPO = Path(__file__).resolve().parents[2]
NIL = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
async def store(engine: str, new_database) -> AccountStore:
    return AccountStore(await new_database(engine), clock=lambda: 1_700_000_000.5)


async def test_create_and_lookup_every_way(store: AccountStore) -> None:
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


async def test_missing_lookups_return_none(store: AccountStore) -> None:
    assert await store.get_account(NIL) is None
    assert await store.get_account("not-a-uuid") is None
    assert await store.account_by_device("nope-nope-nope") is None
    assert await store.account_by_custom_id("nope") is None
    assert await store.account_by_email("a@b.cd") is None
    assert await store.account_by_username("nobody") is None


async def test_username_unique_case_sensitive(store: AccountStore) -> None:
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
async def test_identity_unique(store: AccountStore, links: dict[str, str], kind: str) -> None:
    await store.create_account("first", **links)
    with pytest.raises(IdentityInUse) as info:
        await store.create_account("second", **links)
    assert info.value.kind == kind
    assert await store.account_by_username("second") is None


async def test_disable_time(store: AccountStore) -> None:
    acc = await store.create_account("alice", custom_id="custom-01")
    assert await store.set_disable_time(acc.id, 1_700_000_100)
    assert (await store.get_account(acc.id)).disabled
    assert await store.set_disable_time(acc.id, 0)
    assert not (await store.get_account(acc.id)).disabled
    assert not await store.set_disable_time(NIL, 5)


async def test_concurrent_creates_all_land(store: AccountStore) -> None:
    accounts = await asyncio.gather(*(store.create_account(f"user{i}", device_id=f"device-{i:06d}") for i in range(20)))
    assert len({a.id for a in accounts}) == 20
    assert all([await store.account_by_device(f"device-{i:06d}") for i in range(20)])


async def test_reopen_keeps_data(request: pytest.FixtureRequest, engine: str, tmp_path: Path) -> None:
    config = Config(data_dir=str(tmp_path))
    config.database.address = database_address(request, engine)
    db = database_for(config)
    await db.open()
    await migrate(db, schemas())
    acc = await AccountStore(db).create_account("alice", device_id="device-0001", custom_id="custom-01")
    await db.close()

    db = database_for(config)
    await db.open()
    try:
        assert await migrate(db, schemas()) == []  # already applied: a no-op
        again = await AccountStore(db).account_by_device("device-0001")
        assert again is not None and again.id == acc.id and again.custom_id == "custom-01"
    finally:
        await db.close()


_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from host.accounts.store import AccountStore
    from host.app import schemas
    from host.config import Config, DatabaseConfig
    from host.storage.engine import database_for
    from host.storage.migrate import migrate

    async def main(data_dir, address):
        db = database_for(Config(data_dir=data_dir, database=DatabaseConfig(address=address)))
        await db.open()
        await migrate(db, schemas())
        store = AccountStore(db)
        for i in range(100_000):          # still writing when the parent kills it
            await store.create_account(f"user{i}", device_id=f"device-{i:06d}")
            print(i, flush=True)          # acknowledged only after create_account returned

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def test_acknowledged_writes_survive_kill_9(request: pytest.FixtureRequest, engine: str, tmp_path: Path) -> None:
    address = database_address(request, engine)
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path), address],
        cwd=REPO, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
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

    config = Config(data_dir=str(tmp_path))
    config.database.address = address
    db = database_for(config)
    await db.open()
    try:
        store = AccountStore(db)
        for i in acknowledged:
            acc = await store.account_by_device(f"device-{i:06d}")
            assert acc is not None and acc.username == f"user{i}"
    finally:
        await db.close()
