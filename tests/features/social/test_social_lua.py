"""nk.users_*, nk.account(s)_get_id, nk.friend(s)_* and nk.group(s)_* from a Lua RPC on a real
server: Nakama's argument shapes, defaults, returns and texts, with the ⚠ slips pinned."""

from __future__ import annotations

import json
import uuid

import pytest

from host.runtime.context import CallContext
from tests.conftest import connect_as
from tests.features.social.helpers import players

EVAL = """
local nk = require("nakama")
nk.register_rpc(function(context, payload)
  local fn = assert(loadstring("local nk, ctx = ...; return " .. payload))
  local ok, a, b = pcall(fn, nk, context)
  if not ok then return nk.json_encode({ error = a }) end
  return nk.json_encode({ a = a, b = b })
end, "eval")
"""
NIL = str(uuid.UUID(int=0))


@pytest.fixture
async def app(start_server):
    return await start_server({"eval.lua": EVAL})


@pytest.fixture
def run(app):
    async def run(expr: str) -> dict:
        return json.loads(await app.services.runtime.call_rpc("eval", CallContext(user_id=str(uuid.uuid4())), expr))

    return run


def fails(result: dict, text: str) -> bool:
    """The Lua error is ``text`` (after the chunk's file:line, for argument errors)."""
    error = result.get("error", "")
    return error == text or error.endswith(": " + text)


async def test_users_and_accounts(app, run) -> None:
    a, b = await players(app, 2)
    socket = await connect_as(app, a.token, "status=true")
    users = (await run(f'nk.users_get_id({{"{a.id}", "{b.id}", "{uuid.uuid4()}"}})'))["a"]
    by_id = {u["user_id"]: u for u in users}
    assert set(by_id) == {a.id, b.id} and by_id[a.id]["online"] is True and by_id[b.id]["online"] is False
    assert set(by_id[a.id]) >= {"username", "display_name", "lang_tag", "edge_count", "create_time", "update_time", "metadata"}
    assert (await run(f'nk.users_get_username({{"{b.username}", "nobody"}})'))["a"][0]["user_id"] == b.id
    assert await run("nk.users_get_id({})") == {"a": {}} and await run("nk.users_get_id()") == {"a": {}}
    assert fails(await run('nk.users_get_id({"x"})'), "bad argument #1 to users_get_id (each user id must be a valid id string)")
    assert fails(await run("nk.users_get_id({1})"), "bad argument #1 to users_get_id (each user id must be a string)")
    assert fails(await run("nk.users_get_id({a=1})"), "bad argument #1 to users_get_id (invalid user ids list)")
    assert fails(await run("nk.users_get_username()"), "bad argument #1 to users_get_username (invalid username list)")
    account = (await run(f'nk.account_get_id("{a.id}")'))["a"]
    assert account["user_id"] == a.id and account["user"]["username"] == a.username and account["online"] is True
    assert account["wallet"] == {} and [d["id"] for d in account["devices"]][0].startswith("device-")
    missing = str(uuid.uuid4())
    assert fails(await run(f'nk.account_get_id("{missing}")'), f"failed to get account for user_id {missing}: account not found")
    assert fails(await run('nk.account_get_id("")'), "bad argument #1 to account_get_id (expects user id)")
    assert fails(await run('nk.account_get_id("x")'), "bad argument #1 to account_get_id (invalid user id)")
    accounts = (await run(f'nk.accounts_get_id({{"{a.id}", "{b.id}"}})'))["a"]
    assert {x["user_id"] for x in accounts} == {a.id, b.id}
    assert fails(await run("nk.accounts_get_id()"), "bad argument #1 to accounts_get_id (invalid user id list)")
    assert fails(await run('nk.accounts_get_id({"x"})'), "bad argument #1 to accounts_get_id (user id must be a valid identifier string)")
    await socket.close()


async def test_friends(app, run) -> None:
    a, b, c = await players(app, 3)
    me = f'"{a.id}", "{a.username}"'
    assert await run(f'nk.friends_add({me}, {{"{b.id}"}}, {{"{c.username}"}}, {{since = 2024}})') == {}
    first = await run(f'nk.friends_list("{a.id}", 1)')
    friends, cursor = first["a"], first["b"]
    assert [f["state"] for f in friends] == [1] and friends[0]["metadata"] == {"since": 2024} and isinstance(cursor, str)
    assert set(friends[0]) == {"state", "update_time", "user", "metadata"} and friends[0]["user"]["user_id"] in (b.id, c.id)
    rest = await run(f'nk.friends_list("{a.id}", 10, 1, "{cursor}")')
    assert len(rest["a"]) == 1 and "b" not in rest
    assert fails(await run(f'nk.friends_list("{a.id}", 10, 0, "{cursor}")'), "error while trying to list friends for a user: friend cursor invalid")
    assert await run(f'nk.friend_metadata_update("{a.id}", "{b.id}", {{tag = "x"}})') == {}
    (edge,) = [f for f in (await run(f'nk.friends_list("{a.id}")'))["a"] if f["user"]["user_id"] == b.id]
    assert edge["metadata"] == {"tag": "x"}
    assert await run(f'nk.friends_block({me}, {{"{b.id}"}})') == {}
    assert await run(f'nk.friends_delete({me}, nil, {{"{c.username}"}})') == {}
    states = {f["user"]["user_id"]: f["state"] for f in (await run(f'nk.friends_list("{a.id}")'))["a"]}
    assert states == {b.id: 3}
    for expr, text in [
        ('nk.friends_add("x", "n")', "bad argument #1 to friends_add (expects user ID to be a valid identifier)"),
        (f'nk.friends_add("{a.id}", "")', "bad argument #2 to friends_add (expects username string)"),
        (f'nk.friends_add({me}, {{"{a.id}"}})', "bad argument #3 to friends_add (cannot add self as friend)"),
        (f'nk.friends_add({me}, {{"{NIL}"}})', f"bad argument #3 to friends_add (invalid user ID {NIL})"),
        (f'nk.friends_add({me}, {{1}})', "bad argument #3 to friends_add (each user id must be a string)"),
        (f'nk.friends_add({me}, nil, {{""}})', "bad argument #4 to friends_add (each username must be a non-empty string)"),
        (f'nk.friends_delete({me}, nil, {{"{a.username}"}})', "bad argument #4 to friends_delete (cannot delete self)"),
        (f'nk.friends_block({me}, nil, {{"nobody"}})', "no valid ID or username was provided"),
        (f'nk.friends_list("{a.id}", 1001)', "bad argument #2 to friends_list (expects limit to be 1-1000)"),
        (f'nk.friends_list("{a.id}", 10, 4)', "bad argument #3 to friends_list (expects state to be 0-3)"),
        (f'nk.friend_metadata_update("{a.id}", "{b.id}")', "bad argument #3 to friend_metadata_update (table expected, got nil)"),
    ]:
        assert fails(await run(expr), text), expr


async def test_groups(app, run) -> None:
    a, b, c = await players(app, 3)
    group = (await run(f'nk.group_create("{a.id}", "Lua", nil, "fr", "desc", nil, true, {{k = 1}}, 2)'))["a"]
    gid = group["id"]
    # ⚠ Nakama records the nil UUID as creator when none is given: the superadmin is meant.
    assert (group["creator_id"], group["lang_tag"], group["open"], group["metadata"], group["max_count"], group["edge_count"]) == (
        a.id, "fr", True, {"k": 1}, 2, 1)
    assert fails(await run(f'nk.group_create("{a.id}", "Lua")'), "error while trying to create group: group name in use")
    assert await run(f'nk.group_user_join("{gid}", "{b.id}", "{b.username}")') == {}
    assert fails(await run(f'nk.group_users_add("{gid}", {{"{c.id}"}})'), "error while trying to add users into a group: group is full")
    assert fails(await run(f'nk.group_users_kick("{gid}", {{"{a.id}"}}, "{b.id}")'),
                 "error while trying to kick users from a group: group permission denied")
    # ⚠ Nakama's ban failure says "add users into a group".
    assert fails(await run(f'nk.group_users_ban("{gid}", {{"{a.id}"}}, "{b.id}")'),
                 "error while trying to ban users from a group: group permission denied")
    assert await run(f'nk.group_users_promote("{gid}", {{"{b.id}"}})') == {}  # the server needs no permission
    listed = await run(f'nk.group_users_list("{gid}")')
    assert [(u["user"]["user_id"], u["state"]) for u in listed["a"]] == [(a.id, 0), (b.id, 1)] and "b" not in listed
    page = await run(f'nk.group_users_list("{gid}", 1)')
    assert len(page["a"]) == 1 and isinstance(page["b"], str)
    (mine,) = (await run(f'nk.user_groups_list("{b.id}")'))["a"]
    assert mine["state"] == 1 and mine["group"]["id"] == gid
    assert await run(f'nk.group_update("{gid}", nil, "Lua2", nil, nil, nil, nil, false, nil, 5)') == {}
    (updated,) = (await run(f'nk.groups_get_id({{"{gid}"}})'))["a"]
    assert (updated["name"], updated["open"], updated["max_count"], updated["description"]) == ("Lua2", False, 5, "desc")
    # ⚠ Nakama reports a bad caller as #1 and a bad creator as #3.
    assert fails(await run(f'nk.group_update("{gid}", "bad")'), "bad argument #2 to group_update (expects user ID to be a valid identifier)")
    assert fails(await run(f'nk.group_update("{gid}", nil, nil, "bad")'), "bad argument #4 to group_update (expects creator ID to be a valid identifier)")
    assert fails(await run(f'nk.group_update("{gid}", "{c.id}", "x")'), "error while trying to update group: group permission denied")
    assert fails(await run(f'nk.group_update("{gid}")'), "error while trying to update group: no group updates")
    # ⚠ Nakama's groups_list needs three arguments and reports a bad open as #2.
    assert [g["name"] for g in (await run('nk.groups_list("lua%")'))["a"]] == ["Lua2"]
    assert [g["name"] for g in (await run('nk.groups_list(nil, "fr", false)'))["a"]] == ["Lua2"]
    assert fails(await run('nk.groups_list(nil, nil, "yes")'), "bad argument #3 to groups_list (expects open true/false or nil)")
    assert fails(await run('nk.groups_list("x", "fr")'), "error listing groups: name filter cannot be combined with any other filter")
    assert await run(f'nk.group_user_leave("{gid}", "{b.id}", "{b.username}")') == {}
    assert await run(f'nk.group_delete("{gid}")') == {}
    assert await run(f'nk.groups_get_id({{"{gid}"}})') == {"a": {}}
    for expr, text in [
        ('nk.group_create("x", "n")', "bad argument #1 to group_create (expects user ID to be a valid identifier)"),
        (f'nk.group_create("{a.id}", "")', "bad argument #2 to group_create (expects group name not be empty)"),
        (f'nk.group_create("{a.id}", "n", nil, nil, nil, nil, nil, nil, 0)', "bad argument #9 to group_create (expects max_count to be >= 1)"),
        (f'nk.group_users_add("{gid}", {{"{NIL}"}})', "bad argument #2 to group_users_add (cannot add the root user)"),
        (f'nk.group_users_kick("{gid}", {{"x"}})', "bad argument #2 to group_users_kick (expects each user ID to be a valid identifier)"),
        (f'nk.group_users_demote("{gid}", {{"{b.id}"}}, "x")', "bad argument #3 to group_users_demote (expects caller ID to be empty or a valid identifier)"),
        (f'nk.group_users_add("{gid}", {{"{b.id}"}})', "error while trying to add users into a group: group not found"),
        (f'nk.group_user_join("{gid}", "{b.id}", "")', "bad argument #3 to group_user_join (expects username string)"),
        (f'nk.group_users_list("{gid}", 10001)', "bad argument #2 to group_users_list (expects limit to be 1-10000)"),
        (f'nk.user_groups_list("{b.id}", 101)', "bad argument #2 to user_groups_list (expects limit to be 1-100)"),
        (f'nk.user_groups_list("{b.id}", 10, 5)', "bad argument #3 to user_groups_list (expects state to be 0-4)"),
        ('nk.groups_get_id({"x"})', "bad argument #1 to groups_get_id (each group id must be a valid id string)"),
    ]:
        assert fails(await run(expr), text), expr
