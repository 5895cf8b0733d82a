"""Friends over a real server: ``/v2/friend`` and ``/v2/friend/block`` with Nakama's checks,
codes and texts, listing order and cursors, ``online``, live notifications, metadata, blocks
closing the DM stream, and the REST hooks."""

from __future__ import annotations

import uuid

import orjson
import pytest

from host.features.friends.core import dm_stream
from tests.conftest import connect_as, new_account
from tests.features.social.helpers import players

HOOKS = """
local nk = require("nakama")
nk.register_req_before(function(ctx, payload)
  if payload.usernames and payload.usernames[1] == "rewrite-me" then payload.usernames = {"target-user"} end
  return payload
end, "AddFriends")
nk.register_req_after(function(ctx, out, payload)
  nk.localcache_put("listed", tostring(out.friends and #out.friends or 0))
end, "ListFriends")
nk.register_req_before(function(ctx, payload) return nil end, "BlockFriends")
nk.register_rpc(function() return nk.localcache_get("listed") end, "listed")
"""


@pytest.fixture
async def app(start_server):
    return await start_server({"hooks.lua": HOOKS})


async def test_bad_input_has_nakamas_codes_and_texts(app) -> None:
    a, b = await players(app, 2)
    cases = [
        ("POST", "/v2/friend", {"ids": [a.id]}, "Cannot add self as friend."),
        ("POST", "/v2/friend", {"usernames": [a.username]}, "Cannot add self as friend."),
        ("DELETE", "/v2/friend", {"ids": [a.id]}, "Cannot delete self."),
        ("POST", "/v2/friend/block", {"usernames": [a.username]}, "Requested resource was not found."),  # the hook rejects it
        ("POST", "/v2/friend", {"ids": ["not-a-uuid"]}, "Invalid user ID 'not-a-uuid'."),
        ("POST", "/v2/friend", {"ids": [str(uuid.UUID(int=0))]}, f"Invalid user ID '{uuid.UUID(int=0)}'."),
        ("DELETE", "/v2/friend", {"ids": ["x"]}, "Invalid user ID 'x'."),
        ("POST", "/v2/friend", {"usernames": [""]}, "Username must not be empty."),
        ("POST", "/v2/friend", {"usernames": ["nobody-has-this-name"]}, "No valid ID or username was provided."),
        ("GET", "/v2/friend", {"limit": 0}, "Invalid limit - limit must be between 1 and 1000."),
        ("GET", "/v2/friend", {"limit": 1001}, "Invalid limit - limit must be between 1 and 1000."),
        ("GET", "/v2/friend", {"state": 4}, "Invalid state - state must be between 0 and 3."),
        ("GET", "/v2/friend", {"state": -1}, "Invalid state - state must be between 0 and 3."),
        ("GET", "/v2/friend", {"cursor": "bm9wZQ"}, "Cursor is invalid."),
    ]
    for method, path, query, text in cases:
        status, body = await a.call(method, path, **query)
        code = 5 if text.startswith("Requested") else 3
        assert (status, body) == ({3: 400, 5: 404}[code], {"code": code, "message": text}), (method, path, query)
    # Nothing named, or (for a delete) nobody found: an empty answer, nothing done.
    assert await a.ok("POST", "/v2/friend") == {}
    assert await a.ok("DELETE", "/v2/friend", usernames=["nobody-has-this-name"]) == {}
    assert await a.ok("GET", "/v2/friend") == {}
    status, _ = await a.call("GET", "/v2/friend", limit="ten")
    assert status == 400


async def test_invites_accepts_order_cursors_and_online(app) -> None:
    me, *others = await players(app, 5)
    for other in others[:2]:
        await other.ok("POST", "/v2/friend", ids=[me.id])  # they invite me: state 2 for me
    await me.ok("POST", "/v2/friend", ids=[o.id for o in others[2:]])  # I invite: state 1
    await me.ok("POST", "/v2/friend", usernames=[others[0].username])  # accept the first: state 0
    socket = await connect_as(app, others[3].token, "status=true")  # online = a status presence
    body = await me.ok("GET", "/v2/friend")
    listed = [(f["user"]["id"], f["state"]) for f in body["friends"]]
    assert listed == [(others[0].id, 0), (others[2].id, 1), (others[3].id, 1), (others[1].id, 2)]
    assert "cursor" not in body
    online = {f["user"]["id"]: f["user"].get("online", False) for f in body["friends"]}
    assert online == {others[0].id: False, others[2].id: False, others[3].id: True, others[1].id: False}
    first = body["friends"][0]
    assert first["metadata"] == "{}" and first["update_time"].endswith("Z") and first["user"]["username"] == others[0].username
    # Pages of two, in the same order; a cursor made for one state cannot page another.
    page = await me.ok("GET", "/v2/friend", limit=2)
    second = await me.ok("GET", "/v2/friend", limit=2, cursor=page["cursor"])
    assert [f["user"]["id"] for f in page["friends"] + second["friends"]] == [u for u, _ in listed]
    assert "cursor" not in second
    sent = await me.ok("GET", "/v2/friend", limit=1, state=1)
    assert [f["user"]["id"] for f in sent["friends"]] == [others[2].id]
    status, body = await me.call("GET", "/v2/friend", limit=1, state=2, cursor=sent["cursor"])
    assert (status, body) == (400, {"code": 3, "message": "Cursor is invalid."})
    await socket.close()


async def test_notifications_are_pushed_and_stored(app) -> None:
    a, b = await players(app, 2)
    socket = await connect_as(app, b.token)
    await a.ok("POST", "/v2/friend", ids=[b.id])
    push = await socket.recv()
    [note] = push["notifications"]["notifications"]
    assert (note["code"], note["subject"], note["sender_id"], note["persistent"]) == (-2, f"{a.username} wants to add you as a friend", a.id, True)
    assert orjson.loads(note["content"]) == {"username": a.username}
    await b.ok("POST", "/v2/friend", ids=[a.id])
    stored = await a.ok("GET", "/v2/notification", limit=10)
    assert [(n["code"], n["subject"]) for n in stored["notifications"]] == [(-3, f"{b.username} accepted your friend request")]
    await b.ok("DELETE", "/v2/friend", ids=[a.id])
    stored = await a.ok("GET", "/v2/notification", limit=10)
    assert [n["code"] for n in stored["notifications"]] == [-3, -9]
    await socket.close()


async def test_metadata_is_stored_on_the_callers_edge_and_merged_on_accept(app) -> None:
    a, b = await players(app, 2)
    await a.ok("POST", "/v2/friend", ids=[b.id], metadata='{"met": "arena"}')
    await b.ok("POST", "/v2/friend", ids=[a.id], metadata='{"note": "hi"}')
    mine = (await a.ok("GET", "/v2/friend"))["friends"][0]
    theirs = (await b.ok("GET", "/v2/friend"))["friends"][0]
    assert orjson.loads(mine["metadata"]) == {"met": "arena"}
    assert orjson.loads(theirs["metadata"]) == {"note": "hi"}  # the accepted invite's '{}' merged with it
    status, body = await a.call("POST", "/v2/friend", ids=[b.id], metadata="[1]")
    assert (status, body) == (400, {"code": 3, "message": "Metadata must be a JSON object."})


async def test_block_closes_the_dm_stream_without_events(app) -> None:
    a, b = await players(app, 2)
    sa, sb = await connect_as(app, a.token), await connect_as(app, b.token)
    streams = app.services.streams
    stream = dm_stream(a.id, b.id)
    sessions = {s.user_id: s.session_id for s in app.services.sessions}
    streams.user_join(stream, b.id, sessions[b.id])
    streams.user_join(stream, a.id, sessions[a.id])
    await _until_pong(sb, "0")  # the joins so far
    await a.call("POST", "/v2/friend/block", ids=[b.id])  # the before hook refuses BlockFriends over REST...
    await app.services.features["friends"].block(a.id, [b.id])  # ...so the core blocks, as nk.friends_block does
    assert streams.count(stream) == 0
    assert (await b.ok("GET", "/v2/friend")) == {} and (await a.ok("GET", "/v2/friend"))["friends"][0]["state"] == 3
    assert await _until_pong(sb, "1") == []  # no presence event for the block
    await sa.close()
    await sb.close()


async def _until_pong(socket, cid: str) -> list:
    """What the socket received before the pong of a ping sent now."""
    socket.send({"cid": cid, "ping": {}})
    seen = []
    while (message := await socket.recv()) != {"cid": cid, "pong": {}}:
        seen.append(message)
    return seen


async def test_hooks_see_and_replace_the_request(app) -> None:
    (a,) = await players(app, 1)
    uid, _, _ = await new_account(app, "target-user")
    await a.ok("POST", "/v2/friend", usernames=["rewrite-me"])
    body = await a.ok("GET", "/v2/friend")
    assert [f["user"]["id"] for f in body["friends"]] == [uid]
    socket = await connect_as(app, a.token)
    reply = await socket.request({"cid": "r", "rpc": {"id": "listed"}})
    assert reply["rpc"]["payload"] == "1"
    await socket.close()
