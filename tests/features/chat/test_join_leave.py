"""channel_join and channel_leave over a real server on both engines: Nakama's checks, codes and
texts in its order, the ``channel`` reply, presence events, DM invitations, blocks, group
membership, leaving and disconnecting."""

from __future__ import annotations

import uuid

import pytest

from tests.features.chat.helpers import Chatter, chatters, error


@pytest.fixture
async def app(start_server, engine):
    return await start_server(engine=engine)


def bad(message: str) -> dict:
    return error(3, message)


async def group_of(owner: Chatter, name: str, open: bool = True) -> str:
    return (await owner.ok("POST", "/v2/group", {"name": name, "open": open}))["id"]


async def test_join_checks_in_nakamas_order_and_the_socket_stays_open(app):
    me, blocker, friend, owner = await chatters(app, 4)
    await blocker.ok("POST", "/v2/friend/block", ids=me.id)  # the target blocked the joiner
    await me.ok("POST", "/v2/friend/block", ids=friend.id)  # the joiner blocked the target: not checked
    gid = await group_of(owner, "closed", open=False)
    await me.ok("POST", f"/v2/group/{gid}/join")  # a join request (state 3) is no membership
    banned_gid = await group_of(owner, "open")
    await me.ok("POST", f"/v2/group/{banned_gid}/join")
    await owner.ok("POST", f"/v2/group/{banned_gid}/ban", user_ids=me.id)
    target = ": Invalid channel target"
    cases = [
        ({"target": "", "type": 9}, bad("Invalid channel target")),  # the target comes before the type
        ({"target": "x" * 65, "type": 1}, bad("Channel name is required and must be 1-64 chars" + target)),
        ({"target": "é" * 33}, bad("Channel name is required and must be 1-64 chars" + target)),  # bytes, type 0 is a room
        ({"target": "bell\u0007", "type": 1}, bad("Channel name must not contain control chars" + target)),
        ({"target": "nope", "type": 2}, bad("Invalid user ID in direct message join" + target)),
        ({"target": str(uuid.UUID(int=0)), "type": 2}, bad("Invalid user ID in direct message join" + target)),
        ({"target": str(uuid.uuid4()), "type": 2}, bad("User ID not found" + target)),
        ({"target": blocker.id, "type": 2}, bad("User ID not found" + target)),
        ({"target": "nope", "type": 3}, bad("Invalid group ID in group channel join" + target)),
        ({"target": str(uuid.uuid4()), "type": 3}, bad("Group not found" + target)),
        ({"target": gid, "type": 3}, bad("Group not found" + target)),
        ({"target": banned_gid, "type": 3}, bad("Group not found" + target)),
        ({"target": "lobby", "type": 4}, bad("Invalid channel type")),
    ]
    for body, expected in cases:
        assert await me.request("channel_join", body) == expected, body
    assert (await me.join(friend.id, 2))["user_id_two" if me.id < friend.id else "user_id_one"] == friend.id
    assert (await me.request("rpc", {"id": "nope"}))["error"]["code"] == 6  # still open


async def test_the_channel_reply_and_presence_events(app):
    a, b, c = await chatters(app, 3)
    reply = await a.join("lobby")
    assert reply == {"id": "2...lobby", "self": {"user_id": a.id, "session_id": reply["self"]["session_id"], "username": a.username,
                     "persistence": True}, "room_name": "lobby"}  # a new join lists the others, not the joiner
    assert (await a.next("channel_presence_event"))["channel_presence_event"]["joins"][0]["user_id"] == a.id  # its own join
    hidden = await b.join("lobby", hidden=True)
    assert [p["user_id"] for p in hidden["presences"]] == [a.id]
    quiet = await c.join("lobby", persistence=False)
    assert "persistence" not in quiet["self"] and [p["user_id"] for p in quiet["presences"]] == [a.id]  # b is hidden
    seen_by_a = (await a.next("channel_presence_event"))["channel_presence_event"]
    assert seen_by_a == {"channel_id": "2...lobby", "joins": [{"user_id": c.id, "session_id": quiet["self"]["session_id"],
                         "username": c.username}], "room_name": "lobby"}  # no event for hidden b
    assert (await b.next("channel_presence_event"))["channel_presence_event"]["joins"][0]["user_id"] == c.id  # b hears it
    # A repeat join lists the caller, keeps the stored meta and echoes this request's flag.
    again = await a.join("lobby", persistence=False)
    assert {p["user_id"] for p in again["presences"]} == {a.id, c.id} and "persistence" not in again["self"]
    ack = (await a.send("2...lobby"))["channel_message_ack"]
    assert ack["persistent"] is True  # the first join's persistence is the one kept
    for chatter in (a, b, c):
        await chatter.forget()
    await c.quiet()


async def test_leaving_and_disconnecting(app):
    a, b, c = await chatters(app, 3)
    await a.join("lobby")
    await b.join("lobby")
    await c.join("lobby", hidden=True)
    await a.forget()
    assert await b.request("channel_leave", {"channel_id": "2...lobby"}) == {}
    assert (await a.next("channel_presence_event"))["channel_presence_event"]["leaves"][0]["user_id"] == b.id
    assert await b.request("channel_leave", {"channel_id": "2...lobby"}) == {}  # not there: a no-op
    assert await b.request("channel_leave", {"channel_id": "lobby"}) == bad("Invalid channel identifier")
    assert await c.request("channel_leave", {"channel_id": "2...lobby"}) == {}
    await a.quiet()  # a hidden member leaves without an event
    await b.join("lobby")
    await a.forget()
    await b.ws.close()  # a disconnect leaves every channel
    assert (await a.next("channel_presence_event"))["channel_presence_event"]["leaves"][0]["user_id"] == b.id
    assert (await a.send("2...lobby"))["channel_message_ack"]["room_name"] == "lobby"
    assert app.services.streams.count(app.services.features["chat"].parse("2...lobby").stream) == 1


async def test_dm_invitations(app):
    a, b = await chatters(app, 2)
    dm = (await a.join(b.id, 2))["id"]
    (note,) = (await b.next("notifications"))["notifications"]["notifications"]
    assert (note["code"], note["subject"], note["content"], note["sender_id"], note["persistent"]) == (
        -1, f"{a.username} wants to chat", f'{{"username":"{a.username}"}}', a.id, True)
    assert (await b.ok("GET", "/v2/notification", limit=10))["notifications"][0]["id"] == note["id"]  # stored
    assert (await b.join(a.id, 2))["id"] == dm  # the same channel from either side
    await a.join(b.id, 2)  # a repeat join invites nobody
    await a.request("channel_leave", {"channel_id": dm})
    await a.join(b.id, 2)  # b is there: no invitation
    await b.request("channel_leave", {"channel_id": dm})
    await b.join(a.id, 2, hidden=True)
    await a.request("channel_leave", {"channel_id": dm})
    await a.join(b.id, 2)  # ⚠ Nakama still invites b, who is there (hidden); nobody present is invited here
    await a.join(a.id, 2)  # a self-DM invites nobody
    assert await b.pushes("notifications") == [] and await a.pushes("notifications") == []
