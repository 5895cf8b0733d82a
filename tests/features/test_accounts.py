"""Account updates, both engines: the core's rules (what is set, cleared, left alone; nothing
to set; usernames), ``PUT /v2/account`` over a real server (Nakama's codes and texts, hooks)
and ``nk.account_update_id`` from Lua."""

from __future__ import annotations

import json
import uuid

import pytest

from host.accounts.store import AccountStore
from host.errors import ApiError
from host.features.accounts.core import NO_FIELDS, USERNAME_IN_USE, AccountsCore, AccountUpdate
from host.runtime.context import CallContext
from tests.conftest import new_account
from tests.features.helpers import EVAL, Clock, eval_rpc
from tests.net.helpers import http

# The core ---------------------------------------------------------------------------------


@pytest.fixture
async def accounts(engine: str, new_database):
    db = await new_database(engine)
    store = AccountStore(db)
    clock = Clock()
    alice = await store.create_account("alice-" + uuid.uuid4().hex[:6])
    bob = await store.create_account("bob-" + uuid.uuid4().hex[:6])
    return AccountsCore(db, clock=clock), store, alice.id, bob.username, clock


async def refused(call, message: str) -> None:
    with pytest.raises(ApiError) as info:
        await call
    assert (info.value.code, info.value.message) == (3, message)


async def test_fields_are_set_cleared_or_left_alone(accounts) -> None:
    core, store, alice, _, clock = accounts
    await core.update([AccountUpdate(alice, "alice2", display_name="Alice", timezone="UTC", location="Lyon",
                                     lang_tag="fr", avatar_url="https://a/b.png", metadata='{"vip": true}')])
    a = await store.get_account(alice)
    assert (a.username, a.display_name, a.timezone, a.location, a.lang_tag, a.avatar_url) == (
        "alice2", "Alice", "UTC", "Lyon", "fr", "https://a/b.png")
    assert json.loads(a.metadata) == {"vip": True} and a.update_time == int(clock.now)
    clock.now += 60
    await core.update([AccountUpdate(alice, display_name="", lang_tag="")])
    a = await store.get_account(alice)
    assert (a.username, a.display_name, a.lang_tag, a.location) == ("alice2", "", "", "Lyon")
    assert a.update_time == int(clock.now)
    # Nothing differs: no write, update_time stays (Nakama's IS DISTINCT FROM).
    clock.now += 60
    await core.update([AccountUpdate(alice, "alice2", location="Lyon", metadata='{ "vip" : true }')])
    assert (await store.get_account(alice)).update_time == int(clock.now) - 60


async def test_refusals(accounts) -> None:
    core, store, alice, bob_name, _ = accounts
    await refused(core.update([AccountUpdate(alice)]), NO_FIELDS)
    await refused(core.update([AccountUpdate(alice, bob_name)]), USERNAME_IN_USE)
    await refused(core.update([AccountUpdate(alice, "a\tb")]), "Username invalid, no spaces or control characters allowed.")
    await refused(core.update([AccountUpdate(alice, "é" * 65)]), "Username invalid, must be 1-128 bytes.")
    # All or nothing: the taken name in the second update keeps the first one out too.
    await refused(core.update([AccountUpdate(alice, display_name="X"), AccountUpdate(alice, bob_name)]), USERNAME_IN_USE)
    assert (await store.get_account(alice)).display_name == ""
    await core.update([AccountUpdate(str(uuid.uuid4()), display_name="ghost")])  # unknown user: no error, as Nakama


# PUT /v2/account ------------------------------------------------------------------------------


async def put(app, token: str, body) -> tuple[int, dict]:
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    reply = await http(app.port, "PUT", "/v2/account", raw, {"Authorization": f"Bearer {token}"})
    return reply.status, reply.json()


async def account(app, token: str) -> dict:
    reply = await http(app.port, "GET", "/v2/account", headers={"Authorization": f"Bearer {token}"})
    return reply.json()["user"]


async def test_put_account_changes_the_profile(engine: str, start_server) -> None:
    app = await start_server(engine=engine)
    _, name, token = await new_account(app)
    assert await put(app, token, {"display_name": "Alice", "avatarUrl": "https://a/p.png", "lang_tag": "de",
                                  "location": "Berlin", "timezone": "Europe/Berlin", "unknown": 1}) == (200, {})
    user = await account(app, token)
    assert (user["username"], user["display_name"], user["avatar_url"], user["lang_tag"], user["location"],
            user["timezone"]) == (name, "Alice", "https://a/p.png", "de", "Berlin", "Europe/Berlin")
    assert await put(app, token, {"username": "renamed-" + name, "display_name": "", "location": None}) == (200, {})
    user = await account(app, token)
    assert user["username"] == "renamed-" + name and "display_name" not in user and user["location"] == "Berlin"


REFUSALS = [
    ({}, 400, 3, "No fields to update."),
    ({"location": None}, 400, 3, "No fields to update."),
    ({"username": ""}, 400, 3, "Username invalid, must be 1-128 bytes."),
    ({"username": "x" * 129}, 400, 3, "Username invalid, must be 1-128 bytes."),
    ({"username": "a\nb"}, 400, 3, "Username invalid, no spaces or control characters allowed."),
    ({"display_name": 5}, 400, 3, "Invalid value for string field display_name: 5"),
    ("[1]", 400, 3, "Invalid JSON body: expected an object."),
]


async def test_put_account_refusals(engine: str, start_server) -> None:
    app = await start_server(engine=engine)
    _, _, token = await new_account(app)
    for body, status, code, message in REFUSALS:
        assert await put(app, token, body) == (status, {"code": code, "message": message}), body


async def test_put_account_username_taken_and_auth(engine: str, start_server) -> None:
    app = await start_server(engine=engine)
    _, _, token = await new_account(app)
    _, other, _ = await new_account(app)
    assert await put(app, token, {"username": other}) == (400, {"code": 3, "message": "Username is already in use."})
    reply = await http(app.port, "PUT", "/v2/account", "{}")
    assert (reply.status, reply.json()) == (401, {"code": 16, "message": "Auth token required"})


HOOKS = """
local nk = require("nakama")
nk.register_req_before(function(ctx, payload)
  if payload.display_name == "blocked" then return nil end
  payload.display_name = string.upper(payload.display_name or "")
  return payload
end, "UpdateAccount")
nk.register_req_after(function(ctx, out, payload)
  -- Nakama's TestRuntimeReqAfterHook: an after hook pays into the caller's wallet.
  nk.wallet_update(ctx.user_id, { coins = 10 }, { reason = payload.display_name }, true)
end, "UpdateAccount")
"""


async def test_put_account_runs_the_before_and_after_hooks(engine: str, start_server) -> None:
    app = await start_server(engine=engine, modules={"hooks.lua": HOOKS})
    user_id, _, token = await new_account(app)
    assert await put(app, token, {"display_name": "quiet"}) == (200, {})
    assert (await account(app, token))["display_name"] == "QUIET"
    items, _ = await app.services.features["wallets"].ledger_list(user_id, 10)
    assert [json.loads(i.metadata) for i in items] == [{"reason": "QUIET"}]
    assert await put(app, token, {"display_name": "blocked"}) == (404, {"code": 5, "message": "Requested resource was not found."})
    assert (await account(app, token))["display_name"] == "QUIET"


# nk.account_update_id -----------------------------------------------------------------------


async def test_account_update_id_from_lua(engine: str, start_server) -> None:
    app = await start_server(engine=engine, modules={"eval.lua": EVAL})
    uid, _, token = await new_account(app)
    _, taken, _ = await new_account(app)

    async def run(expr: str) -> dict:
        return await eval_rpc(app, CallContext(user_id=uid), expr.replace("$U", f'"{uid}"'))

    assert await run('nk.account_update_id($U, {level=3, tags={"a"}}, "neo", "Neo", "UTC", "Zion", "en-US", "https://n")') == {}
    user = await account(app, token)
    assert (user["username"], user["display_name"], user["timezone"], user["location"], user["lang_tag"],
            user["avatar_url"]) == ("neo", "Neo", "UTC", "Zion", "en-US", "https://n")
    assert json.loads(user["metadata"]) == {"level": 3, "tags": ["a"]}
    assert await run('nk.account_update_id($U, nil, nil, "")') == {}  # nil leaves alone, "" clears
    user = await account(app, token)
    assert "display_name" not in user and user["username"] == "neo" and user["location"] == "Zion"
    for expr, text in [
        ('nk.account_update_id("nope")', "bad argument #1 to account_update_id (expects user ID to be a valid identifier)"),
        ("nk.account_update_id(nil)", "bad argument #1 to account_update_id (string expected, got nil)"),
        ('nk.account_update_id($U, "m")', "bad argument #2 to account_update_id (table expected, got string)"),
        ("nk.account_update_id($U, nil, 5)", "bad argument #3 to account_update_id (string expected, got number)"),
        ("nk.account_update_id($U, nil, nil, nil, true)", "bad argument #5 to account_update_id (string expected, got boolean)"),
        ("nk.account_update_id($U)", "error while trying to update user: No fields to update."),
        (f'nk.account_update_id($U, nil, "{taken}")', "error while trying to update user: Username is already in use."),
        ('nk.account_update_id($U, nil, "a\\1b")', "error while trying to update user: Username invalid, no spaces or control characters allowed."),
        # ⚠ Nakama checks the length only over REST; PostgreSQL then refuses the row.
        (f'nk.account_update_id($U, nil, "{"x" * 129}")', "error while trying to update user: Username invalid, must be 1-128 bytes."),
        ("nk.account_update_id($U, {f=function() end})", "error encoding metadata: cannot convert a Lua function"),
    ]:
        assert (await run(expr))["error"].endswith(text), expr
    assert (await account(app, token))["username"] == "neo"
