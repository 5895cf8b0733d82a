"""channel_message_send / _update / _remove over a real server on both engines: Nakama's checks
and texts, the push reaching every member before the sender's ack, persistence as the
sender's join flag, the sender check on edits (⚠ fixed: the channel too, non-persistent
messages too), kicks, group chat system messages, and the realtime hooks."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest

from tests.features.chat.helpers import Chatter, chatters, error

MODULE = """
local nk = require("nakama")
nk.register_rt_before(function(ctx, env)
  if env.channel_join.target == "renamed" then env.channel_join.target = "hooked" end
  return env
end, "ChannelJoin")
nk.register_rt_after(function(ctx, out, env)
  nk.localcache_put("acked", out.channel_message_ack.message_id)
end, "ChannelMessageSend")
nk.register_rt_after(function(ctx, out, env)
  nk.localcache_put("updated", (nk.localcache_get("updated") or "") .. "+")
end, "ChannelMessageUpdate")
nk.register_rpc(function(ctx, key) return nk.localcache_get(key) or "" end, "cache")
nk.register_rpc(function(ctx, room)
  nk.stream_user_join(ctx.user_id, ctx.session_id, {mode = 2, label = room}, false, true)
  return ""
end, "join")
nk.register_rpc(function(ctx, payload)
  local p = nk.json_decode(payload)
  nk.stream_user_kick({user_id = p.user_id, session_id = p.session_id, node = "nakama"}, {mode = 2, label = p.room})
  return ""
end, "kick")
"""

LOBBY = "2...lobby"


@pytest.fixture
async def app(start_server, engine):
    return await start_server({"chat_hooks.lua": MODULE}, engine=engine)


def bad(message: str) -> dict:
    return error(3, message)


async def history(reader: Chatter, channel_id: str, **query) -> list[dict]:
    return (await reader.ok("GET", f"/v2/channel/{channel_id}", limit=100, **query)).get("messages", [])


async def rpc(chatter: Chatter, rpc_id: str, payload: str = "") -> str:
    return (await chatter.request("rpc", {"id": rpc_id, "payload": payload}))["rpc"].get("payload", "")


async def test_send_reaches_every_member_before_the_ack(app):
    a, b, c, outsider = await chatters(app, 4)
    me = await a.join("lobby")
    await b.join("lobby", hidden=True)
    await c.join("lobby", persistence=False)
    for chatter in (a, b, c):
        await chatter.forget()
    for body, expected in [
        ({"channel_id": "lobby", "content": "nope"}, bad("Invalid channel identifier")),  # the id comes first
        ({"channel_id": LOBBY, "content": "nope"}, bad("Message content must be a valid JSON object")),
        ({"channel_id": LOBBY, "content": "[1]"}, bad("Message content must be a valid JSON object")),
        ({"channel_id": LOBBY, "content": '"{}"'}, bad("Message content must be a valid JSON object")),
        ({"channel_id": LOBBY}, bad("Message content must be a valid JSON object")),
    ]:
        assert await a.request("channel_message_send", body) == expected, body
    assert await outsider.send(LOBBY) == bad("Must join channel before sending messages")

    content = '{ "text": "hi",  "a": [1, 2] }'  # spacing and key order kept, live and in history
    ack = (await a.send(LOBBY, content))["channel_message_ack"]
    (push,) = [m["channel_message"] for m in a.held]  # the push arrived before the reply
    a.held.clear()
    assert push == {**ack, "sender_id": a.id, "content": content}
    assert (ack["code"], ack["username"], ack["persistent"], ack["room_name"]) == (0, a.username, True, "lobby")
    assert ack["create_time"] == ack["update_time"] and ack["create_time"].endswith("Z")
    assert await b.pushes() == [push] and await c.pushes() == [push]  # hidden members hear it too, once

    await a.forget()  # a's next request is handled once its after hook ran: c's hook comes last
    quiet = (await c.send(LOBBY, '{"n":2}'))["channel_message_ack"]  # c joined without persistence
    assert quiet["persistent"] is False and len(await a.pushes()) == 1
    stored = await history(outsider, LOBBY)  # rooms are readable by anyone
    assert [(m["message_id"], m["content"], m["persistent"]) for m in stored] == [(ack["message_id"], content, True)]
    assert stored[0] == push
    await c.forget()  # c's next request is handled once its after hook ran
    assert await rpc(a, "cache", "acked") == quiet["message_id"]  # the after hook saw the last ack
    assert me["self"]["persistence"] is True


async def test_update_and_remove_only_the_senders_own_message_in_its_channel(app):
    a, b, c, d = await chatters(app, 4)
    for chatter in (a, b):
        await chatter.join("lobby")
        await chatter.join("other")
    await c.join("lobby", persistence=False)
    await d.join("lobby", persistence=False)
    sent = (await a.send(LOBBY, '{"v":1}'))["channel_message_ack"]
    mid = sent["message_id"]
    update = "channel_message_update"
    for body, expected in [
        ({"channel_id": "nope", "message_id": "nope", "content": "x"}, bad("Invalid message identifier")),  # checked first
        ({"channel_id": "nope", "message_id": mid, "content": "x"}, bad("Invalid channel identifier")),
        ({"channel_id": LOBBY, "message_id": mid, "content": "x"}, bad("Message content must be a valid JSON object")),
        ({"channel_id": "2...elsewhere", "message_id": mid, "content": "{}"}, bad("Must join channel before updating messages")),
        ({"channel_id": LOBBY, "message_id": mid, "content": "{}"}, None),  # b is not the sender
        ({"channel_id": "2...other", "message_id": mid, "content": "{}"}, None),
    ]:
        assert await b.request(update, body) == (expected or bad("Could not find message to update in channel history")), body
    # ⚠ Nakama matches the row by id and sender only: a's message would change through another channel.
    assert await a.request(update, {"channel_id": "2...other", "message_id": mid, "content": "{}"}) == bad(
        "Could not find message to update in channel history")
    for chatter in (a, b, c, d):
        await chatter.forget()
    edited = (await a.request(update, {"channel_id": LOBBY, "message_id": mid, "content": '{"v": 2}'}))["channel_message_ack"]
    (push,) = await b.pushes()
    assert push == {**edited, "sender_id": a.id, "content": '{"v": 2}'} and push["code"] == 1 and push["persistent"] is True
    assert edited["create_time"] == sent["create_time"] and edited["update_time"] > sent["update_time"]
    (row,) = await history(b, LOBBY)
    assert (row["code"], row["content"], row["update_time"]) == (0, '{"v": 2}', edited["update_time"])  # the row keeps code 0

    # Non-persistent messages: only their sender may edit them (⚠ Nakama lets any member broadcast an "update").
    eph = (await c.send(LOBBY, '{"e":1}'))["channel_message_ack"]
    assert await d.request(update, {"channel_id": LOBBY, "message_id": eph["message_id"], "content": "{}"}) == bad(
        "Could not find message to update in channel history")
    assert await a.request(update, {"channel_id": LOBBY, "message_id": eph["message_id"], "content": "{}"}) == bad(
        "Could not find message to update in channel history")
    own = (await c.request(update, {"channel_id": LOBBY, "message_id": eph["message_id"], "content": '{"e":2}'}))["channel_message_ack"]
    assert (own["persistent"], own["create_time"]) == (False, eph["create_time"])
    remove = "channel_message_remove"
    assert await d.request(remove, {"channel_id": LOBBY, "message_id": eph["message_id"]}) == bad(
        "Could not find message to remove in channel history")
    gone = (await c.request(remove, {"channel_id": LOBBY, "message_id": eph["message_id"]}))["channel_message_ack"]
    assert (gone["code"], gone["persistent"], gone["update_time"]) == (2, False, own["update_time"])
    assert await c.request(remove, {"channel_id": LOBBY, "message_id": eph["message_id"]}) == bad(
        "Could not find message to remove in channel history")

    # Removing a stored message deletes its row; the push carries its times and "{}".
    assert await a.request(remove, {"channel_id": "nope", "message_id": "nope"}) == bad("Invalid message identifier")
    assert await c.request(remove, {"channel_id": "2...other", "message_id": mid}) == bad("Must join channel before removing messages")
    await b.forget()
    removed = (await a.request(remove, {"channel_id": LOBBY, "message_id": mid}))["channel_message_ack"]
    pushes = await b.pushes()
    assert pushes[-1] == {**removed, "sender_id": a.id, "content": "{}"}
    assert (removed["code"], removed["create_time"], removed["update_time"]) == (2, sent["create_time"], edited["update_time"])
    assert await history(b, LOBBY) == []
    assert await a.request(remove, {"channel_id": LOBBY, "message_id": mid}) == bad("Could not find message to remove in channel history")
    assert await rpc(a, "cache", "updated") == "++"  # after hooks ran for the two successful updates


async def test_a_database_failure_answers_the_error_alone(app):
    """⚠ Nakama's update/remove go on after a database error: an error and an empty ack, and the after hook."""
    (a,) = await chatters(app, 1)
    await a.join("lobby")
    mid = (await a.send(LOBBY))["channel_message_ack"]["message_id"]
    await app.services.database.execute("DROP TABLE message")
    await a.forget()
    body = {"channel_id": LOBBY, "message_id": mid}
    assert await a.request("channel_message_update", {**body, "content": "{}"}) == error(0, "Could not persist message update to channel history")
    assert await a.request("channel_message_remove", body) == error(0, "Could not persist message remove to channel history")
    assert await a.send(LOBBY) == error(0, "Could not persist message to channel history")
    await a.quiet()  # no ack, and nothing was pushed
    assert await rpc(a, "cache", "updated") == ""


async def test_a_kicked_member_hears_nothing_more(app):
    a, b = await chatters(app, 2)
    await a.join("lobby")
    b_self = (await b.join("lobby"))["self"]
    await rpc(a, "kick", orjson.dumps({"user_id": b.id, "session_id": b_self["session_id"], "room": "lobby"}).decode())
    await b.forget()
    await a.send(LOBBY)
    await b.quiet()
    assert await b.send(LOBBY) == bad("Must join channel before sending messages")
    assert (await a.join("renamed"))["room_name"] == "hooked"  # the before hook rewrote the target
    await rpc(b, "join", "lua room")  # a module joins a session with nk.stream_user_join (Nakama has no Lua channel join)
    assert (await b.send("2...lua room"))["channel_message_ack"]["persistent"] is True


async def test_oversize_content_closes_the_socket_as_nakama_does(app):
    """No chat limit of its own: a frame over socket.max_message_size_bytes (4096) closes the socket (1009)."""
    (a,) = await chatters(app, 1)
    await a.join("lobby")
    fits = orjson.dumps({"text": "x" * 3900}).decode()
    assert (await a.send(LOBBY, fits))["channel_message_ack"]["persistent"] is True
    a.ws.send({"cid": "big", "channel_message_send": {"channel_id": LOBBY, "content": orjson.dumps({"text": "x" * 5000}).decode()}})
    assert (await a.ws.wait_closed())[0] == 1009
    (reader,) = await chatters(app, 1)
    assert [m["content"] for m in await history(reader, LOBBY)] == [fits]


async def test_group_chat_and_its_system_messages(app):
    owner, member, other, outsider = await chatters(app, 4)
    gid = (await owner.ok("POST", "/v2/group", {"name": "guild", "open": True}))["id"]
    channel_id = (await owner.join(gid, 3))["id"]
    assert channel_id == f"3.{gid}.."
    await member.ok("POST", f"/v2/group/{gid}/join")  # 3: joined
    assert (await member.join(gid, 3))["group_id"] == gid
    await owner.ok("POST", f"/v2/group/{gid}/add", user_ids=other.id)  # 4: added
    await owner.ok("POST", f"/v2/group/{gid}/promote", user_ids=member.id)  # 7: promoted
    await owner.ok("POST", f"/v2/group/{gid}/demote", user_ids=member.id)  # 9: demoted
    await member.send(channel_id, '{"text":"hello guild"}')
    await owner.forget()
    await member.forget()
    await owner.ok("POST", f"/v2/group/{gid}/kick", user_ids=member.id)  # 6: kicked, then off the stream
    (kicked,) = await member.pushes()
    assert (kicked["code"], kicked["sender_id"], kicked["username"], kicked["content"], kicked["persistent"]) == (
        6, member.id, member.username, "{}", True)
    assert (await owner.next("channel_presence_event"))["channel_presence_event"]["leaves"][0]["user_id"] == member.id
    await owner.ok("POST", f"/v2/group/{gid}/ban", user_ids=other.id)  # 8: banned
    for reader in (member, outsider):  # kicked / never a member
        assert await reader.call("GET", f"/v2/channel/{channel_id}") == (400, {"code": 3, "message": "Group not found."})
    assert await member.request("channel_join", {"target": gid, "type": 3}) == bad("Group not found: Invalid channel target")
    await member.ok("POST", f"/v2/group/{gid}/join")  # 3 again
    await member.ok("POST", f"/v2/group/{gid}/leave")  # 5: left
    rows = await history(owner, channel_id)
    assert [(m["code"], m["sender_id"]) for m in rows] == [
        (3, member.id), (4, other.id), (7, member.id), (9, member.id), (0, member.id), (6, member.id), (8, other.id),
        (3, member.id), (5, member.id)]
    assert rows[5] == kicked and all(m["group_id"] == gid and m["channel_id"] == channel_id for m in rows)
    # In the order things happened: Nakama's whole-second times would sort them before the chat.
    times = [datetime.fromisoformat(m["create_time"]) for m in rows]
    assert times == sorted(times)
