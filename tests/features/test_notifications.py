"""In-app notifications over real sockets and HTTP: live delivery on mode 0, storage, listing,
deletion, silent mode, send-all, the nk functions' checks, and the REST hooks."""

from __future__ import annotations

import uuid

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import connect_as, new_account
from tests.net.helpers import http
from tests.net.streams_lua import nothing_pending

LUA = """
local nk = require("nakama")
local function call(fn, ...)
  local ok, err = pcall(fn, ...)
  if not ok then return err end
  return "ok"
end
nk.register_rpc(function(ctx, payload)
  local p = nk.json_decode(payload)
  return call(nk.notification_send, p.user_id, p.subject, p.content, p.code, p.sender_id, p.persistent)
end, "send")
nk.register_rpc(function(ctx, payload)
  return call(nk.notifications_send, nk.json_decode(payload))
end, "send_many")
nk.register_rpc(function(ctx, payload)
  local p = nk.json_decode(payload)
  return call(nk.notification_send_all, p.subject, p.content, p.code, p.persistent)
end, "send_all")
nk.register_rpc(function(ctx, payload)
  local p = nk.json_decode(payload)
  local ok, list, cursor = pcall(nk.notifications_list, p.user_id, p.limit, p.cursor)
  if not ok then return list end
  return nk.json_encode({ list = list, cursor = cursor or "none" })
end, "list")
nk.register_rpc(function(ctx, payload)
  local p = nk.json_decode(payload)
  local ok, got = pcall(nk.notifications_get_id, p.ids, p.user_id)
  if not ok then return got end
  return nk.json_encode(got)
end, "get")
nk.register_rpc(function(ctx, payload)
  return call(nk.notifications_delete, nk.json_decode(payload))
end, "delete")
nk.register_rpc(function(ctx, payload)
  local p = nk.json_decode(payload)
  return call(nk.notifications_delete_id, p.ids, p.user_id)
end, "delete_id")
nk.register_rpc(function(ctx, payload)
  return call(nk.notifications_update, nk.json_decode(payload))
end, "update")
nk.register_rpc(function(ctx)
  nk.stream_user_leave(ctx.user_id, ctx.session_id, { mode = 0, subject = ctx.user_id })
end, "silent")
nk.register_req_after(function(ctx, out, input)
  nk.localcache_put("listed", nk.json_encode({ n = #(out.notifications or {}), limit = input.limit }))
end, "ListNotifications")
nk.register_req_before(function(ctx, input)
  if input.ids and input.ids[1] == "refuse" then return nil end
  return input
end, "DeleteNotifications")
nk.register_rpc(function() return nk.localcache_get("listed") end, "listed")
"""


@pytest.fixture
async def app(start_server, engine):
    return await start_server({"notes.lua": LUA}, engine=engine)


def _early(client):
    """Pushes that arrived before an RPC's reply (a notification to the caller comes first)."""
    return client.__dict__.setdefault("early_pushes", [])


async def rpc(client, rpc_id, payload):
    client.send({"cid": "r", "rpc": {"id": rpc_id, "payload": orjson.dumps(payload).decode()}})
    while (message := await client.recv()).get("cid") != "r":
        _early(client).append(message)
    assert "rpc" in message, message
    return message["rpc"].get("payload")


async def push(client):
    early = _early(client)
    return early.pop(0) if early else await client.recv()


async def quiet(client):
    assert _early(client) == []
    await nothing_pending(client)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


async def listing(app, token, query=""):
    reply = await http(app.port, "GET", f"/v2/notification{'?' + query if query else ''}", headers=bearer(token))
    return reply.status, reply.json()


async def test_live_push_and_stored_listing(app):
    alice_id, alice, alice_token = await new_account(app)
    bob_id, _, bob_token = await new_account(app)
    a, b = await connect_as(app, alice_token), await connect_as(app, bob_token)
    assert await rpc(a, "send", {"user_id": bob_id, "subject": "hi", "content": {"x": 1}, "code": 101, "sender_id": alice_id, "persistent": True}) == "ok"
    envelope = await push(b)
    [n] = envelope["notifications"]["notifications"]
    assert set(envelope) == {"notifications"} and set(envelope["notifications"]) == {"notifications"}
    assert n["subject"] == "hi" and orjson.loads(n["content"]) == {"x": 1} and n["code"] == 101
    assert n["sender_id"] == alice_id and n["persistent"] is True and n["create_time"].endswith("Z")
    uuid.UUID(n["id"])
    await quiet(a)

    status, body = await listing(app, bob_token)
    assert status == 200 and body["notifications"] == [n] and body["cacheable_cursor"]
    assert (await listing(app, alice_token))[1] == {"cacheable_cursor": (await listing(app, alice_token))[1]["cacheable_cursor"]}


async def test_server_notifications_have_no_sender_and_non_persistent_ones_are_not_stored(app):
    bob_id, _, bob_token = await new_account(app)
    b = await connect_as(app, bob_token)
    assert await rpc(b, "send", {"user_id": bob_id, "subject": "live only", "content": {}, "code": 1}) == "ok"
    [n] = (await push(b))["notifications"]["notifications"]
    assert "sender_id" not in n and "persistent" not in n and n["content"] == "{}"
    assert "notifications" not in (await listing(app, bob_token))[1]


async def test_offline_user_finds_persistent_ones_later(app):
    alice_id, _, alice_token = await new_account(app)
    bob_id, _, bob_token = await new_account(app)
    a = await connect_as(app, alice_token)
    await rpc(a, "send", {"user_id": bob_id, "subject": "kept", "content": {}, "code": 5, "persistent": True})
    await rpc(a, "send", {"user_id": bob_id, "subject": "lost", "content": {}, "code": 5})
    b = await connect_as(app, bob_token)
    await quiet(b)
    _, body = await listing(app, bob_token, "limit=10")
    assert [n["subject"] for n in body["notifications"]] == ["kept"]


async def test_listing_pages_oldest_first_and_the_cacheable_cursor_polls_for_newer(app):
    user_id, _, token = await new_account(app)
    client = await connect_as(app, token)
    for i in range(5):
        await rpc(client, "send", {"user_id": user_id, "subject": f"n{i}", "content": {}, "code": 1, "persistent": True})
    _, first = await listing(app, token)  # Nakama's default page is one
    assert [n["subject"] for n in first["notifications"]] == ["n0"]
    _, rest = await listing(app, token, f"limit=100&cacheable_cursor={first['cacheable_cursor']}")
    assert [n["subject"] for n in rest["notifications"]] == ["n1", "n2", "n3", "n4"]
    _, empty = await listing(app, token, f"limit=100&cacheable_cursor={rest['cacheable_cursor']}")
    assert empty == {"cacheable_cursor": rest["cacheable_cursor"]}  # nothing newer: the cursor is echoed
    await rpc(client, "send", {"user_id": user_id, "subject": "n5", "content": {}, "code": 1, "persistent": True})
    _, newer = await listing(app, token, f"limit=100&cacheable_cursor={rest['cacheable_cursor']}")
    assert [n["subject"] for n in newer["notifications"]] == ["n5"]


@pytest.mark.parametrize("query, message", [
    ("limit=0", "Invalid limit - limit must be between 1 and 100."),
    ("limit=101", "Invalid limit - limit must be between 1 and 100."),
    ("limit=x", 'parsing field "limit": strconv.ParseInt: parsing "x": invalid syntax'),
    ("cacheable_cursor=garbage", "Cursor is invalid or expired."),  # ⚠ Nakama: 500 "Error retrieving notifications."
])
async def test_listing_input_errors(app, query, message):
    _, _, token = await new_account(app)
    assert await listing(app, token, query) == (400, {"code": 3, "message": message})


async def test_listing_needs_a_session(app):
    reply = await http(app.port, "GET", "/v2/notification")
    assert reply.status == 401


async def test_delete_removes_only_the_callers_own(app):
    alice_id, _, alice_token = await new_account(app)
    bob_id, _, bob_token = await new_account(app)
    a = await connect_as(app, alice_token)
    await rpc(a, "send", {"user_id": alice_id, "subject": "mine", "content": {}, "code": 1, "persistent": True})
    await rpc(a, "send", {"user_id": bob_id, "subject": "bob's", "content": {}, "code": 1, "persistent": True})
    [mine] = (await listing(app, alice_token))[1]["notifications"]
    [bobs] = (await listing(app, bob_token))[1]["notifications"]
    q = f"ids={mine['id']}&ids={bobs['id']}&ids=not-a-uuid"  # ⚠ Nakama: 500 for a non-UUID id
    reply = await http(app.port, "DELETE", f"/v2/notification?{q}", headers=bearer(alice_token))
    assert (reply.status, reply.json()) == (200, {})
    assert "notifications" not in (await listing(app, alice_token))[1]
    assert (await listing(app, bob_token))[1]["notifications"] == [bobs]
    reply = await http(app.port, "DELETE", "/v2/notification?ids=refuse", headers=bearer(alice_token))
    assert reply.status == 404  # the before hook returned nil


async def test_after_hook_sees_the_listing(app):
    user_id, _, token = await new_account(app)
    client = await connect_as(app, token)
    await rpc(client, "send", {"user_id": user_id, "subject": "s", "content": {}, "code": 1, "persistent": True})
    await push(client)
    await listing(app, token, "limit=3")
    assert orjson.loads(await rpc(client, "listed", {})) == {"n": 1, "limit": 3}


async def test_silent_mode_stops_live_delivery_to_that_session_only(app):
    user_id, _, token = await new_account(app)
    silent, loud = await connect_as(app, token), await connect_as(app, token)
    await rpc(silent, "silent", {})
    await rpc(silent, "send", {"user_id": user_id, "subject": "x", "content": {}, "code": 1, "persistent": True})
    assert (await push(loud))["notifications"]["notifications"][0]["subject"] == "x"
    await quiet(silent)
    assert len((await listing(app, token))[1]["notifications"]) == 1  # still stored


async def test_notifications_send_is_one_envelope_per_user(app):
    alice_id, _, alice_token = await new_account(app)
    bob_id, _, bob_token = await new_account(app)
    a, b = await connect_as(app, alice_token), await connect_as(app, bob_token)
    batch = [{"user_id": uid, "subject": s, "content": {}, "code": 2} for uid, s in ((alice_id, "a1"), (bob_id, "b1"), (alice_id, "a2"))]
    client = await connect_as(app, (await new_account(app))[2])
    assert await rpc(client, "send_many", batch) == "ok"
    assert [n["subject"] for n in (await push(a))["notifications"]["notifications"]] == ["a1", "a2"]
    assert [n["subject"] for n in (await push(b))["notifications"]["notifications"]] == ["b1"]
    await quiet(a)


async def test_send_all_reaches_live_sessions_but_not_silent_ones(app):
    _, _, t1 = await new_account(app)
    _, _, t2 = await new_account(app)
    c1, c2 = await connect_as(app, t1), await connect_as(app, t2)
    await rpc(c2, "silent", {})  # ⚠ Nakama's non-persistent send-all ignores silent mode
    assert await rpc(c1, "send_all", {"subject": "maintenance", "content": {"in": 5}, "code": 7}) == "ok"
    assert (await push(c1))["notifications"]["notifications"][0]["subject"] == "maintenance"
    await quiet(c2)


async def test_persistent_send_all_stores_a_copy_for_every_account(app):
    _, _, t1 = await new_account(app)
    _, _, t2 = await new_account(app)
    c1 = await connect_as(app, t1)
    assert await rpc(c1, "send_all", {"subject": "patch", "content": {}, "code": 7, "persistent": True}) == "ok"
    [live] = (await push(c1))["notifications"]["notifications"]  # delivered after the page is stored
    [stored1] = (await listing(app, t1))[1]["notifications"]
    [stored2] = (await listing(app, t2))[1]["notifications"]
    assert stored1 == live and stored2["subject"] == "patch" and stored2["id"] != stored1["id"]


@pytest.mark.parametrize("payload, text", [
    ({"user_id": "x", "subject": "s", "content": {}, "code": 1}, "bad argument #1 to notification_send (expects user_id to be a valid UUID)"),
    ({"subject": "", "content": {}, "code": 1}, "bad argument #2 to notification_send (expects subject to be a non-empty string)"),
    ({"subject": "s", "content": {}, "code": 0}, "bad argument #4 to notification_send (expects code number to be a positive integer)"),
    ({"subject": "s", "content": {}, "code": -999}, "bad argument #4 to notification_send (expects code number to be a positive integer)"),
    ({"subject": "s", "content": {}, "code": 1, "sender_id": "nope"}, "bad argument #5 to notification_send (expects sender_id to either be not set, empty string or a valid UUID)"),
    ({"subject": "s", "content": {}, "code": 1, "persistent": True, "long": True}, "failed to send notifications: subject must be 255 characters or less to be persistent"),
])
async def test_notification_send_argument_errors(app, payload, text):
    user_id, _, token = await new_account(app)
    client = await connect_as(app, token)
    payload = {"user_id": user_id, **payload}
    if payload.pop("long", False):
        payload["subject"] = "s" * 256
    assert text in await rpc(client, "send", payload)
    await quiet(client)


async def test_runtime_codes_may_use_nakamas_reserved_negative_range(app):
    user_id, _, token = await new_account(app)
    client = await connect_as(app, token)
    assert await rpc(client, "send", {"user_id": user_id, "subject": "s", "content": {}, "code": -1500}) == "ok"
    assert (await push(client))["notifications"]["notifications"][0]["code"] == -1500


async def test_nk_list_get_update_and_delete(app):
    user_id, _, token = await new_account(app)
    client = await connect_as(app, token)
    for i in range(3):
        await rpc(client, "send", {"user_id": user_id, "subject": f"n{i}", "content": {"i": i}, "code": 9, "persistent": True})
    page = orjson.loads(await rpc(client, "list", {"user_id": user_id, "limit": 2}))
    assert [n["subject"] for n in page["list"]] == ["n0", "n1"] and page["cursor"] != "none"
    assert set(page["list"][0]) == {"id", "subject", "content", "code", "senderId", "persistent", "createTime"}
    rest = orjson.loads(await rpc(client, "list", {"user_id": user_id, "limit": 2, "cursor": page["cursor"]}))
    assert [n["subject"] for n in rest["list"]] == ["n2"] and rest["cursor"] == "none"
    ids = [n["id"] for n in page["list"]]
    assert await rpc(client, "update", [{"id": ids[0], "subject": "changed", "content": {"new": True}}]) == "ok"
    got = orjson.loads(await rpc(client, "get", {"ids": ids, "user_id": user_id}))
    by_id = {g["id"]: g for g in got}
    assert by_id[ids[0]]["subject"] == "changed" and by_id[ids[0]]["content"] == {"new": True}
    assert await rpc(client, "delete", [{"user_id": user_id, "notification_id": ids[0]}]) == "ok"
    assert await rpc(client, "delete_id", {"ids": [ids[1]]}) == "ok"
    left = orjson.loads(await rpc(client, "list", {"user_id": user_id}))
    assert [n["subject"] for n in left["list"]] == ["n2"]
    assert "expects notification_id to be a valid UUID" in await rpc(client, "delete", [{"user_id": user_id}])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(st.tuples(st.integers(0, 2), st.booleans()), min_size=1, max_size=12), silent=st.sets(st.integers(0, 2)))
async def test_every_session_on_the_stream_gets_each_notification_once_in_order(start_server, plan, silent):
    app = await start_server({"notes.lua": LUA})
    user_id, _, token = await new_account(app)
    sessions = [await connect_as(app, token) for _ in range(3)]
    for i in silent:
        await rpc(sessions[i], "silent", {})
    sender = await connect_as(app, (await new_account(app))[2])
    expected = []
    for n, (_, persistent) in enumerate(plan):
        assert await rpc(sender, "send", {"user_id": user_id, "subject": f"s{n}", "content": {}, "code": 1, "persistent": persistent}) == "ok"
        expected.append(f"s{n}")
    for i, client in enumerate(sessions):
        got = [] if i in silent else [(await push(client))["notifications"]["notifications"][0]["subject"] for _ in expected]
        assert got == ([] if i in silent else expected)
        await quiet(client)
    await app.close()
