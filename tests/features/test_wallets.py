"""Wallets, both engines: the changeset rule, the core's transactions (all or nothing,
skipped users, ledger order and pages, metadata merge), concurrent updates that must
neither lose one another nor go below zero, and the wallet in ``GET /v2/account``."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from host.accounts.store import AccountStore
from host.errors import ApiError
from host.features.wallets.changeset import INT64_MAX, WalletNegative, apply_changeset, parse_wallet
from host.features.wallets.core import CURSOR_INVALID, LEDGER_NOT_FOUND, WalletsCore, WalletUpdate
from tests.conftest import new_account
from tests.features.helpers import Clock
from tests.net.helpers import http

# The rule ---------------------------------------------------------------------------------


def test_a_changeset_adds_key_by_key_and_leaves_the_old_wallet_alone() -> None:
    old = {"coins": 10, "gems": 1}
    assert apply_changeset("u", old, {"coins": -10, "keys": 2}) == {"coins": 0, "gems": 1, "keys": 2}
    assert old == {"coins": 10, "gems": 1}
    assert apply_changeset("u", {}, {}) == {}


@pytest.mark.parametrize("wallet, changeset, path", [
    ({"coins": 10}, {"coins": -11}, "coins"),
    ({}, {"gems": -1}, "gems"),  # a missing key starts at 0
    ({"coins": 5}, {"coins": 1, "gems": -1}, "gems"),
    ({"coins": INT64_MAX}, {"coins": 1}, "coins"),  # ⚠ Go wraps int64 negative: Nakama's very text
])
def test_a_value_below_zero_refuses_the_whole_change(wallet, changeset, path) -> None:
    with pytest.raises(WalletNegative) as info:
        apply_changeset("u1", wallet, changeset)
    assert (info.value.code, info.value.message) == (3, f"wallet update rejected negative value at path '{path}'")
    assert (info.value.user_id, info.value.path) == ("u1", path)


def test_a_stored_wallet_must_be_whole_numbers() -> None:
    assert parse_wallet("u", '{"a": 1, "b": 2.0}') == {"a": 1, "b": 2} and parse_wallet("u", None) == {}
    for text in ('{"a": {"b": 1}}', '{"a": 1.5}', "[1]", "nope"):
        with pytest.raises(ApiError, match="not an object of whole numbers"):
            parse_wallet("u", text)


# The core, on both engines ----------------------------------------------------------------


@pytest.fixture
async def world(engine: str, new_database):
    db = await new_database(engine)
    store = AccountStore(db)
    users = [(await store.create_account(f"w{i}-{uuid.uuid4().hex[:6]}")).id for i in range(3)]
    clock = Clock()
    return WalletsCore(db, clock=clock), store, users, clock


async def wallet_of(store: AccountStore, user_id: str) -> dict:
    return json.loads((await store.get_account(user_id)).wallet)


async def test_update_returns_each_users_wallet_before_and_after(world) -> None:
    core, store, (alice, bob, _), clock = world
    (r,) = await core.update([WalletUpdate(alice, {"coins": 10})], ledger=False)
    assert (r.user_id, r.previous, r.updated) == (alice, {}, {"coins": 10})
    results = await core.update([
        WalletUpdate(alice, {"coins": -3, "gems": 1}), WalletUpdate(bob, {"coins": 5}), WalletUpdate(alice, {"coins": -7}),
    ], ledger=False)
    assert [(r.user_id, r.previous, r.updated) for r in results] == [
        (alice, {"coins": 10}, {"coins": 7, "gems": 1}),
        (bob, {}, {"coins": 5}),
        (alice, {"coins": 7, "gems": 1}, {"coins": 0, "gems": 1}),  # its own snapshot, not an alias
    ]
    assert await wallet_of(store, alice) == {"coins": 0, "gems": 1} and await wallet_of(store, bob) == {"coins": 5}
    assert (await store.get_account(alice)).update_time == int(clock.now)
    assert await core.ledger_list(alice, 10) == ([], "")  # no ledger asked for


async def test_a_batch_is_all_or_nothing_and_unknown_users_are_skipped(world) -> None:
    core, store, (alice, bob, _), _ = world
    await core.update([WalletUpdate(alice, {"coins": 5})], ledger=True)
    with pytest.raises(WalletNegative, match="at path 'coins'"):
        await core.update([WalletUpdate(bob, {"coins": 100}), WalletUpdate(alice, {"coins": -6})], ledger=True)
    assert await wallet_of(store, bob) == {} and await wallet_of(store, alice) == {"coins": 5}
    assert len((await core.ledger_list(alice, 10))[0]) == 1 and (await core.ledger_list(bob, 10))[0] == []
    ghost = str(uuid.uuid4())
    results = await core.update([WalletUpdate(ghost, {"coins": 1}), WalletUpdate(bob, {"coins": 1})], ledger=True)
    assert [r.user_id for r in results] == [bob]
    assert await core.update([WalletUpdate(ghost, {"coins": 1})], ledger=True) == []
    assert await core.update([], ledger=True) == []


async def test_the_ledger_lists_newest_first_in_pages(world) -> None:
    core, _, (alice, bob, _), clock = world
    for i in range(5):
        clock.now += 1
        await core.update([WalletUpdate(alice, {"coins": i + 1}, json.dumps({"n": i}))], ledger=True)
    await core.update([WalletUpdate(bob, {"coins": 1})], ledger=True)
    seen, cursor, pages = [], "", 0
    while True:
        items, cursor = await core.ledger_list(alice, 2, cursor)
        pages += 1
        seen += [(i.changeset, json.loads(i.metadata), i.user_id) for i in items]
        if not cursor:
            break
    assert pages == 3
    assert seen == [({"coins": n + 1}, {"n": n}, alice) for n in reversed(range(5))]
    items, last = await core.ledger_list(alice, 5)
    assert len(items) == 5 and last == ""  # exactly a page: no cursor to an empty page
    assert items[0].create_time == int(clock.now * 1_000_000) and items[0].create_time == items[0].update_time
    assert await core.ledger_list(alice, 0) == ([], "")


async def test_ledger_rows_keep_commit_order_when_the_clock_ties_or_steps_back(world) -> None:
    core, _, (alice, _, _), clock = world
    for i in range(4):
        clock.now -= 0.5 * (i % 2)  # ties and steps back
        await core.update([WalletUpdate(alice, {"coins": 1}, json.dumps({"n": i}))], ledger=True)
    await core.update([WalletUpdate(alice, {"coins": 1}, '{"n": 4}'), WalletUpdate(alice, {"coins": 1}, '{"n": 5}')], ledger=True)
    items, _ = await core.ledger_list(alice, 100)
    assert [json.loads(i.metadata)["n"] for i in items] == [5, 4, 3, 2, 1, 0]
    times = [i.create_time for i in items]
    assert times == sorted(times, reverse=True) and len(set(times)) == 6


async def test_cursors_belong_to_their_user(world) -> None:
    core, _, (alice, bob, _), _ = world
    for _ in range(3):
        await core.update([WalletUpdate(alice, {"coins": 1})], ledger=True)
    _, cursor = await core.ledger_list(alice, 1)
    assert cursor
    for user, bad in ((bob, cursor), (alice, "%%%"), (alice, "bm90IGpzb24"), (alice, cursor[:-4])):
        with pytest.raises(ApiError) as info:
            await core.ledger_list(user, 1, bad)
        assert (info.value.code, info.value.message) == (3, CURSOR_INVALID)


async def test_ledger_metadata_merges_top_level_keys(world) -> None:
    core, _, (alice, _, _), clock = world
    await core.update([WalletUpdate(alice, {"coins": 2}, '{"a": 1, "b": {"x": 1}}')], ledger=True)
    (item,), _ = await core.ledger_list(alice, 1)
    clock.now += 10
    updated = await core.ledger_update(item.id, {"b": {"y": 2}, "c": None})
    assert json.loads(updated.metadata) == {"a": 1, "b": {"y": 2}, "c": None}  # JSONB || : top level only
    assert (updated.changeset, updated.user_id, updated.create_time) == ({"coins": 2}, alice, item.create_time)
    assert updated.update_time == int(clock.now * 1_000_000)
    (again,), _ = await core.ledger_list(alice, 1)
    assert json.loads(again.metadata) == json.loads(updated.metadata) and again.update_time == updated.update_time
    with pytest.raises(ApiError) as info:
        await core.ledger_update(str(uuid.uuid4()), {})
    assert info.value.message == LEDGER_NOT_FOUND


async def test_concurrent_updates_lose_nothing_and_never_go_negative(world) -> None:
    core, store, (alice, bob, carol), _ = world
    await core.update([WalletUpdate(alice, {"coins": 10})], ledger=False)

    async def spend(user: str) -> bool:
        try:
            await core.update([WalletUpdate(user, {"coins": -1})], ledger=True)
            return True
        except WalletNegative:
            return False

    async def both(a: str, b: str) -> None:  # two users in one batch, in either order
        await core.update([WalletUpdate(a, {"n": 1}), WalletUpdate(b, {"n": 1})], ledger=False)

    spent = await asyncio.gather(*[spend(alice) for _ in range(30)])
    await asyncio.gather(*[both(bob, carol) if i % 2 else both(carol, bob) for i in range(30)])
    assert spent.count(True) == 10
    assert await wallet_of(store, alice) == {"coins": 0}
    assert len((await core.ledger_list(alice, 100))[0]) == 10
    assert await wallet_of(store, bob) == {"n": 30} and await wallet_of(store, carol) == {"n": 30}


# The wallet in GET /v2/account --------------------------------------------------------------


async def test_the_account_shows_the_wallet(engine: str, start_server) -> None:
    app = await start_server(engine=engine)
    user_id, _, token = await new_account(app)
    auth = {"Authorization": f"Bearer {token}"}
    reply = await http(app.port, "GET", "/v2/account", headers=auth)
    assert reply.json()["wallet"] == "{}"
    await app.services.features["wallets"].update([WalletUpdate(user_id, {"gems": 3, "coins": 250})], ledger=False)
    reply = await http(app.port, "GET", "/v2/account", headers=auth)
    assert reply.status == 200 and json.loads(reply.json()["wallet"]) == {"coins": 250, "gems": 3}
