"""nk.channel_message_send / _update / _remove, nk.channel_messages_list and nk.channel_id_build
from Lua on a real server, both engines: Nakama's arguments, returns and texts, with each ⚠
slip's fix pinned."""

from __future__ import annotations

import uuid

import pytest

from host.runtime.context import CallContext
from tests.features.chat.helpers import chatters
from tests.features.helpers import EVAL, eval_rpc

NIL = str(uuid.UUID(int=0))


@pytest.fixture
async def app(start_server, engine):
    return await start_server({"eval.lua": EVAL}, engine=engine)


@pytest.fixture
def run(app):
    async def run(expr: str) -> dict:
        return await eval_rpc(app, CallContext(user_id=str(uuid.uuid4())), expr)

    return run


def values(result: dict) -> tuple:
    """The three results of an expression (json_encode drops nils)."""
    return result["a"], result.get("b"), result.get("c")


def fails(result: dict, text: str) -> bool:
    error = result.get("error", "")
    return error == text or error.endswith(": " + text)


async def test_send_update_remove(app, run):
    (a,) = await chatters(app, 1)
    await a.join("lobby", persistence=False)
    await a.forget()
    ack = (await run(f'nk.channel_message_send("2...lobby", {{text = "hi", n = 1}}, "{a.id}", "alice")'))["a"]
    assert set(ack) == {"channelId", "messageId", "code", "username", "createTime", "updateTime", "persistent"}
    assert (ack["channelId"], ack["code"], ack["username"], ack["persistent"]) == ("2...lobby", 0, "alice", True)  # ⚠ persist defaults to true
    (push,) = await a.pushes()
    assert (push["content"], push["sender_id"], push["message_id"]) == ('{"n":1,"text":"hi"}', a.id, ack["messageId"])
    system = (await run('nk.channel_message_send("2...lobby")'))["a"]  # no sender: the server, content {}
    (push,) = await a.pushes()
    assert "sender_id" not in push and push["content"] == "{}" and "username" not in push
    ephemeral = (await run('nk.channel_message_send("2...lobby", {}, "", "", false)'))["a"]
    assert ephemeral["persistent"] is False
    listed, next_cursor, prev_cursor = values(await run('nk.channel_messages_list("2...lobby")'))
    assert [m["messageId"] for m in listed] == [ack["messageId"], system["messageId"]] and next_cursor is prev_cursor is None
    assert listed[1]["senderId"] == NIL and set(listed[0]) == {
        "channelId", "messageId", "code", "senderId", "username", "content", "createTime", "updateTime", "persistent", "roomName"}
    for expr, text in [
        ('nk.channel_message_send("lobby")', "error converting channel identifier to stream: invalid channel id"),
        ('nk.channel_message_send("2...lobby", {1, 2})', "bad argument #2 to channel_message_send (expects message content to be a valid JSON object)"),
        ('nk.channel_message_send("2...lobby", "x")', "bad argument #2 to channel_message_send (table expected, got string)"),
        ('nk.channel_message_send("2...lobby", {}, "nope")',
         "bad argument #3 to channel_message_send (expects sender id to either be not set, empty string or a valid UUID)"),
        ('nk.channel_message_update("2...lobby", "nope")', "bad argument #2 to channel_message_update (Invalid message identifier)"),
    ]:
        assert fails(await run(expr), text), expr
    # With persist (the default) the sender's message in this channel must exist; without, anything goes.
    mid = ack["messageId"]
    updated = (await run(f'nk.channel_message_update("2...lobby", "{mid}", {{v = 2}}, "{a.id}", "alice")'))["a"]
    assert (updated["code"], updated["createTime"], updated["persistent"]) == (1, ack["createTime"], True)
    assert (await run('nk.channel_messages_list("2...lobby", 1)'))["a"][0]["content"] == '{"v":2}'
    not_found = "failed to send channel message: channel message not found"
    assert fails(await run(f'nk.channel_message_update("2...lobby", "{mid}", {{}})'), not_found)  # the server did not send it
    assert fails(await run(f'nk.channel_message_update("2...other", "{mid}", {{}}, "{a.id}")'), not_found)  # ⚠ another channel
    assert (await run(f'nk.channel_message_update("2...lobby", "{uuid.uuid4()}", {{}}, "", "", false)'))["a"]["code"] == 1
    assert fails(await run(f'nk.channel_message_remove("2...other", "{mid}", "{a.id}")'), not_found)
    removed = (await run(f'nk.channel_message_remove("2...lobby", "{mid}", "{a.id}", "alice")'))["a"]
    assert (removed["code"], removed["createTime"]) == (2, ack["createTime"])
    assert fails(await run(f'nk.channel_message_remove("2...lobby", "{mid}", "{a.id}")'), not_found)
    pushed = await a.pushes()
    assert [p["code"] for p in pushed] == [0, 1, 1, 2]  # the ephemeral send, the two updates, the removal


async def test_list_reads_any_channel_with_cursors(app, run):
    a, b = await chatters(app, 2)
    dm = (await a.join(b.id, 2))["id"]
    for n in range(3):
        await a.send(dm, f'{{"n":{n}}}')
    # Server code is trusted: no membership check (as Nakama), whoever the caller.
    first, cursor, prev = values(await run(f'nk.channel_messages_list("{dm}", 2, true)'))
    assert [m["content"] for m in first] == ['{"n":0}', '{"n":1}'] and prev is None
    assert {first[0]["userIdOne"], first[0]["userIdTwo"]} == {a.id, b.id} and first[0]["senderId"] == a.id
    rest, none, prev = values(await run(f'nk.channel_messages_list("{dm}", 2, true, "{cursor}")'))
    assert [m["content"] for m in rest] == ['{"n":2}'] and none is None and prev
    newest = (await run(f'nk.channel_messages_list("{dm}", 1, false)'))["a"]
    assert newest[0]["content"] == '{"n":2}'
    for expr, text in [
        ('nk.channel_messages_list("3...")', "error converting channel identifier to stream: invalid channel id"),  # ⚠ "leaderboard records"
        (f'nk.channel_messages_list("{dm}", 0)', "bad argument #2 to channel_messages_list (limit must be 1-100)"),
        (f'nk.channel_messages_list("{dm}", 101)', "bad argument #2 to channel_messages_list (limit must be 1-100)"),
        (f'nk.channel_messages_list("{dm}", 2, false, "{cursor}")', "failed to list channel messages: invalid channel cursor"),
        ('nk.channel_messages_list("2...x", 2, true, "junk")', "failed to list channel messages: invalid channel cursor"),
    ]:
        assert fails(await run(expr), text), expr


async def test_channel_id_build(app, run):
    a, b, blocker, owner = await chatters(app, 4)
    await blocker.ok("POST", "/v2/friend/block", ids=a.id)
    gid = (await owner.ok("POST", "/v2/group", {"name": "builders", "open": True}))["id"]
    low, high = sorted((a.id, b.id))
    assert (await run('nk.channel_id_build("", "lobby", 1)'))["a"] == "2...lobby"
    assert (await run(f'nk.channel_id_build("{a.id}", "{b.id}", 2)'))["a"] == f"4.{low}.{high}."
    assert (await run(f'nk.channel_id_build("", "{gid}", 3)'))["a"] == f"3.{gid}.."  # the server is in every group
    await a.ok("POST", f"/v2/group/{gid}/join")
    assert (await run(f'nk.channel_id_build("{a.id}", "{gid}", 3)'))["a"] == f"3.{gid}.."
    target = ": Invalid channel target)"
    for expr, text in [
        (f'nk.channel_id_build("", "{b.id}", 2)', "bad argument #1 to channel_id_build (A direct message needs a sender user ID" + target),  # ⚠ Nakama: "2..."
        (f'nk.channel_id_build("{a.id}", "{blocker.id}", 2)', "bad argument #1 to channel_id_build (User ID not found" + target),
        (f'nk.channel_id_build("{b.id}", "{gid}", 3)', "bad argument #1 to channel_id_build (Group not found" + target),
        ('nk.channel_id_build("", "bell\\7", 1)', "bad argument #1 to channel_id_build (Channel name must not contain control chars" + target),
        ('nk.channel_id_build("", "bad\\255", 1)', "bad argument #1 to channel_id_build (Channel name must only contain valid UTF-8 bytes" + target),
        ('nk.channel_id_build("", "lobby", 0)', "bad argument #3 to channel_id_build (invalid channel type: expects value 1-3)"),
        ('nk.channel_id_build("", "lobby", 4)', "bad argument #3 to channel_id_build (invalid channel type: expects value 1-3)"),
        ('nk.channel_id_build("nope", "lobby", 1)',
         "bad argument #1 to channel_id_build (expects sender id to either be not set, empty string or a valid UUID)"),
    ]:
        assert fails(await run(expr), text), expr
