"""Realtime hooks (register_rt_before/after) and the host operations Lua reaches (send_raw, disconnect)."""

from __future__ import annotations

import pytest

from host.net.errors import CloseCode
from tests.conftest import connect, new_user
from tests.net.streams_lua import STREAMS_LUA, drive, nothing_pending

HOOKS_LUA = """
    local nk = require("nakama")
    nk.register_rt_before(function(ctx, envelope)
      if envelope.cid == "reject" then return nil end
      if envelope.cid == "raise" then error("before hook says no") end
      envelope.cid = envelope.cid .. "-seen"
      return envelope
    end, "Ping")
    nk.register_rt_after(function(ctx, out, envelope)
      -- prove the after hook ran, with the reply and the request, on the caller's notification stream
      nk.stream_send_raw({mode = 0, subject = ctx.user_id},
        {rpc = {id = "after", payload = out.cid .. "|" .. envelope.cid .. "|" .. ctx.session_id}})
    end, "Ping")
    nk.register_rt_before(function(ctx, envelope) return nil end, "Rpc")
    nk.register_rpc(function(ctx, payload) return "rpc ok" end, "plain")
"""


@pytest.fixture
async def app(start_server):
    return await start_server({"hooks.lua": HOOKS_LUA})


@pytest.fixture
async def streams_app(start_server):
    return await start_server({"streams.lua": STREAMS_LUA})


def session_id(app, user_id):
    return next(s.session_id for s in app.services.sessions if s.user_id == user_id)


async def test_before_hook_can_change_the_envelope_and_after_hook_runs(app):
    user_id, _ = new_user()
    client = await connect(app, user_id)
    assert await client.request({"cid": "1", "ping": {}}) == {"cid": "1-seen", "pong": {}}
    after = await client.recv()
    assert after == {"rpc": {"id": "after", "payload": f"1-seen|1-seen|{session_id(app, user_id)}"}}
    await client.close()


async def test_before_hook_error_answers_7_and_keeps_the_socket(app):
    client = await connect(app)
    reply = await client.request({"cid": "raise", "ping": {}})
    assert reply["cid"] == "raise"
    assert reply["error"]["code"] == 7 and "before hook says no" in reply["error"]["message"]
    # no after hook either (the operation did not run): the next message is the reply to this RPC
    assert await client.request({"cid": "next", "rpc": {"id": "plain"}}) == {"cid": "next", "rpc": {"id": "plain", "payload": "rpc ok"}}
    await client.close()


async def test_before_hook_returning_nil_rejects_and_closes(app):
    client = await connect(app)
    reply = await client.request({"cid": "reject", "ping": {}})
    assert reply == {"cid": "reject", "error": {"code": 1, "message": "Requested resource was not found."}}
    assert (await client.wait_closed())[0] == CloseCode.NORMAL


async def test_rpc_messages_get_no_realtime_hooks(app):
    client = await connect(app)
    assert await client.request({"cid": "1", "rpc": {"id": "plain"}}) == {"cid": "1", "rpc": {"id": "plain", "payload": "rpc ok"}}
    await client.close()


async def test_stream_send_raw_to_members_or_chosen_sessions(streams_app):
    app = streams_app
    a, b = await connect(app), await connect(app)
    stream = {"mode": 30, "label": "raw"}
    pushed, _ = await drive(a, "join", stream=stream, hidden=True)
    envelope = {"channel_message": {"channel_id": "x", "content": "{\"hello\":1}"}}
    pushed, _ = await drive(a, "send_raw", stream=stream, envelope=envelope)
    assert pushed == [envelope]  # to every member, the caller included
    await nothing_pending(b)
    targets = [s.session_id for s in app.services.sessions][1:]  # b, chosen explicitly
    pushed, _ = await drive(a, "send_raw", stream=stream, envelope={"cid": "7", "pong": {}}, presences=[{"session_id": targets[0]}])
    assert pushed == []
    assert await b.recv() == {"cid": "7", "pong": {}}


async def test_stream_send_raw_refuses_an_invalid_envelope(streams_app):
    app = streams_app
    client = await connect(app)
    stream = {"mode": 30, "label": "raw"}
    for envelope in ({"no_such_message": {}}, {"ping": {}, "pong": {}}, {"rpc": {"id": "x", "bogus": 1}}):
        _, reply = await drive(client, "send_raw", stream=stream, envelope=envelope)
        assert reply["error"]["code"] == 7
        assert "not a valid envelope" in reply["error"]["message"]
    await client.close()


async def test_session_disconnect_closes_that_socket_and_others_hear_the_leave(streams_app):
    app = streams_app
    a, b = await connect(app), await connect(app)
    stream = {"mode": 31, "label": "kick"}
    await drive(a, "join", stream=stream)
    await drive(b, "join", stream=stream)
    await a.recv()  # b's join
    b_session = [s.session_id for s in app.services.sessions][1]
    pushed, _ = await drive(a, "disconnect", session_id=b_session)
    assert await b.wait_closed() == (CloseCode.NORMAL, "server-side session disconnect")
    [leave] = pushed
    assert leave["stream_presence_event"]["leaves"][0]["session_id"] == b_session
    assert len(app.services.sessions) == 1
