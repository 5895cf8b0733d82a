"""Status (mode 1) over real sockets: follow, unfollow, update, disconnect, nk functions, hooks."""

from __future__ import annotations

import uuid

import orjson
import pytest

from tests.conftest import connect_as, new_account
from tests.net.streams_lua import nothing_pending

LUA = """
local nk = require("nakama")
nk.register_rpc(function(ctx, payload)
  local p = nk.json_decode(payload)
  local fn = p.unfollow and nk.status_unfollow or nk.status_follow
  local ok, err = pcall(fn, p.session_id or ctx.session_id, p.user_ids)
  if not ok then return err end
  return "ok"
end, "follow")
nk.register_rt_before(function(ctx, envelope)
  if envelope.status_update and envelope.status_update.status == "rewrite me" then
    envelope.status_update.status = "rewritten"
  end
  return envelope
end, "StatusUpdate")
nk.register_rt_after(function(ctx, out, envelope)
  nk.localcache_put("after_follow", out == nil and "nil" or nk.json_encode(out))
end, "StatusFollow")
nk.register_rpc(function(ctx) return nk.localcache_get("after_follow") end, "after_follow")
"""


@pytest.fixture
async def app(start_server):
    return await start_server({"status.lua": LUA})


def sid_of(app, user_id):
    [sid] = [s.session_id for s in app.services.sessions if s.user_id == user_id]
    return sid


def presence(user_id, session_id, username, status=""):
    return {"user_id": user_id, "session_id": session_id, "username": username, "status": status}


async def update(client, cid, status=None):
    """Send status_update; the session's own status event (it follows itself) comes before the ack."""
    client.send({"cid": cid, "status_update": {} if status is None else {"status": status}})
    pushed = []
    while (message := await client.recv()) != {"cid": cid}:
        pushed.append(message)
    return pushed


async def rpc(client, rpc_id, **payload):
    reply = await client.request({"cid": "r", "rpc": {"id": rpc_id, "payload": orjson.dumps(payload).decode()}})
    return reply["rpc"].get("payload")


async def test_follow_by_id_and_username_lists_current_statuses_then_hears_changes(app):
    alice_id, alice, alice_token = await new_account(app)
    bob_id, bob, bob_token = await new_account(app)
    carol_id, carol, carol_token = await new_account(app)
    a = await connect_as(app, alice_token, "status=true")
    b = await connect_as(app, bob_token)  # online only once it sets a status
    c = await connect_as(app, carol_token)
    for own in (a,):
        assert (await own.recv())["status_presence_event"]["joins"][0]["user_id"] == alice_id  # its own join

    reply = await c.request({"cid": "1", "status_follow": {"user_ids": [alice_id, str(uuid.uuid4())], "usernames": [bob, carol]}})
    assert reply == {"cid": "1", "status": {"presences": [presence(alice_id, sid_of(app, alice_id), alice)]}}

    bob_sid = sid_of(app, bob_id)
    joined = {"status_presence_event": {"joins": [presence(bob_id, bob_sid, bob, "lobby")]}}
    assert await update(b, "2", "lobby") == [joined]  # a user follows itself
    assert await c.recv() == joined

    changed = {"status_presence_event": {
        "joins": [presence(bob_id, bob_sid, bob, "in match")], "leaves": [presence(bob_id, bob_sid, bob, "lobby")]}}
    assert await update(b, "3", "in match") == [changed]
    assert await c.recv() == changed

    offline = {"status_presence_event": {"leaves": [presence(bob_id, bob_sid, bob, "in match")]}}
    assert await update(b, "4") == [offline]  # no status: appear offline
    assert await c.recv() == offline

    assert await c.request({"cid": "5", "status_unfollow": {"user_ids": [bob_id]}}) == {"cid": "5"}
    assert len(await update(b, "6", "back")) == 1
    await nothing_pending(c)

    alice_sid = sid_of(app, alice_id)
    await a.close()  # a disconnect is a leave for the followers
    assert await c.recv() == {"status_presence_event": {"leaves": [presence(alice_id, alice_sid, alice)]}}


async def test_follow_input_errors_keep_the_socket_open(app):
    _, me, token = await new_account(app)
    client = await connect_as(app, token)
    assert await client.request({"cid": "1", "status_follow": {}}) == {"cid": "1", "status": {}}
    assert await client.request({"cid": "2", "status_follow": {"user_ids": ["nope"]}}) == {
        "cid": "2", "error": {"code": 3, "message": "Invalid user identifier"}}
    assert await client.request({"cid": "3", "status_follow": {"usernames": [""]}}) == {
        "cid": "3", "error": {"code": 3, "message": "Invalid username"}}
    assert await client.request({"cid": "4", "status_follow": {"usernames": [me, "nobody-" + uuid.uuid4().hex]}}) == {
        "cid": "4", "status": {}}
    assert await client.request({"cid": "5", "status_unfollow": {"user_ids": ["x"]}}) == {
        "cid": "5", "error": {"code": 3, "message": "Invalid user identifier"}}
    assert await client.request({"cid": "6", "status_update": {"status": "é" * 1025}}) == {
        "cid": "6", "error": {"code": 3, "message": "Status must be 2048 characters or less"}}  # bytes are counted
    assert len(await update(client, "7", "x" * 2048)) == 1
    await nothing_pending(client)


async def test_a_list_of_non_strings_is_a_malformed_envelope(app):
    _, _, token = await new_account(app)
    client = await connect_as(app, token)
    client.send({"cid": "1", "status_follow": {"user_ids": [1]}})
    assert (await client.wait_closed())[0] == 1000


async def test_clients_cannot_unfollow_themselves(app):
    me_id, me, token = await new_account(app)
    client = await connect_as(app, token)
    assert await client.request({"cid": "1", "status_unfollow": {"user_ids": [me_id]}}) == {"cid": "1"}
    [event] = await update(client, "2", "still here")
    assert event["status_presence_event"]["joins"][0]["status"] == "still here"


async def test_nk_status_follow_and_unfollow(app):
    alice_id, _, alice_token = await new_account(app)
    bob_id, bob, bob_token = await new_account(app)
    a = await connect_as(app, alice_token)
    b = await connect_as(app, bob_token)
    assert await rpc(a, "follow", user_ids=[bob_id]) == "ok"
    await update(b, "1", "hi")
    assert await a.recv() == {"status_presence_event": {"joins": [presence(bob_id, sid_of(app, bob_id), bob, "hi")]}}

    assert await rpc(a, "follow", user_ids=[alice_id], unfollow=True) == "ok"  # the runtime may unfollow self
    assert await update(a, "2", "quiet") == []
    await nothing_pending(a)

    assert "expects a valid session id" in await rpc(a, "follow", session_id="x", user_ids=[])
    assert "invalid user ids list" in await rpc(a, "follow", user_ids="x")
    assert "each user id must be a valid id" in await rpc(a, "follow", user_ids=["x"])


async def test_hooks_see_status_messages(app):
    _, _, token = await new_account(app)
    client = await connect_as(app, token)
    [event] = await update(client, "1", "rewrite me")
    assert event["status_presence_event"]["joins"][0]["status"] == "rewritten"
    assert await client.request({"cid": "2", "status_follow": {}}) == {"cid": "2", "status": {}}
    assert await rpc(client, "after_follow") == "nil"  # nothing to follow: the after hook gets no reply


async def test_online_means_a_status_presence(app):
    on_id, _, on_token = await new_account(app)
    off_id, _, off_token = await new_account(app)
    await connect_as(app, on_token, "status=true")
    await connect_as(app, off_token)
    assert app.services.features["status"].online([on_id, off_id]) == {on_id}
