"""The engine's presence-event rules, seen by real sockets through Lua stream functions."""

from __future__ import annotations

import pytest

from tests.conftest import connect, new_user
from tests.net.streams_lua import STREAMS_LUA, drive, nothing_pending

S = {"mode": 20, "label": "Stream Data Test"}
T = {"mode": 21, "label": "other"}


@pytest.fixture
async def app(start_server):
    return await start_server({"streams.lua": STREAMS_LUA})


def sid(app, client) -> str:
    return next(s.session_id for s in app.services.sessions if s.user_id == client.user_id)


async def player(app):
    user_id, username = new_user()
    client = await connect(app, user_id, username)
    client.user_id, client.username = user_id, username
    client.session_id = sid(app, client)
    return client


def wire(client, **extra) -> dict:
    return {"user_id": client.user_id, "session_id": client.session_id, "username": client.username, **extra}


def event(stream: dict, joins=None, leaves=None) -> dict:
    body = {"stream": stream}
    if joins:
        body["joins"] = joins
    if leaves:
        body["leaves"] = leaves
    return {"stream_presence_event": body}


async def test_joiner_receives_its_own_join_then_data(app):
    """The scenario every Nakama SDK tests (clientrpc.send_stream_data)."""
    a = await player(app)
    pushed, reply = await drive(a, "join", stream=S)
    assert reply["rpc"]["payload"] == "true"
    assert pushed == [event(S, joins=[wire(a)])]
    pushed, _ = await drive(a, "send", stream=S, data="helloworld")
    assert pushed == [{"stream_data": {"stream": S, "data": "helloworld", "reliable": True}}]
    _, again = await drive(a, "join", stream=S)
    assert again["rpc"]["payload"] == "false"  # already there: no event
    await nothing_pending(a)


async def test_join_reaches_every_member_and_leave_skips_the_leaver(app):
    a, b = await player(app), await player(app)
    await drive(a, "join", stream=S)
    pushed, _ = await drive(b, "join", stream=S, persistence=True)
    assert pushed == [event(S, joins=[wire(b, persistence=True)])]
    assert await a.recv() == event(S, joins=[wire(b, persistence=True)])
    pushed, _ = await drive(b, "leave", stream=S)
    assert pushed == []  # the leaver does not hear its own leave
    assert await a.recv() == event(S, leaves=[wire(b, persistence=True)])
    await nothing_pending(a)
    await nothing_pending(b)


async def test_hidden_members_receive_but_never_appear(app):
    a, h = await player(app), await player(app)
    await drive(a, "join", stream=S)
    pushed, _ = await drive(h, "join", stream=S, hidden=True)
    assert pushed == []  # a hidden join makes no event, not even for the joiner
    await nothing_pending(a)
    b = await player(app)
    pushed, _ = await drive(b, "join", stream=S)
    assert pushed == [event(S, joins=[wire(b)])]
    assert await a.recv() == event(S, joins=[wire(b)])
    assert await h.recv() == event(S, joins=[wire(b)])  # hidden members still hear others
    pushed, _ = await drive(a, "send", stream=S, data="d")
    data = {"stream_data": {"stream": S, "data": "d", "reliable": True}}
    assert pushed == [data]  # the caller is a member too
    assert await h.recv() == data  # stream_send reaches hidden members
    assert await b.recv() == data
    await drive(h, "leave", stream=S)
    await nothing_pending(a)  # a hidden leave makes no event either
    await nothing_pending(b)


async def test_update_is_one_event_with_joins_and_leaves(app):
    a, b = await player(app), await player(app)
    await drive(a, "join", stream=S)
    await drive(b, "join", stream=S)
    await a.recv()  # b's join
    pushed, _ = await drive(b, "update", stream=S, persistence=True)
    expected = event(S, joins=[wire(b, persistence=True)], leaves=[wire(b)])
    assert pushed == [expected]
    assert await a.recv() == expected
    # visible -> hidden: a leave only
    await drive(b, "update", stream=S, hidden=True)
    assert await a.recv() == event(S, leaves=[wire(b, persistence=True)])
    await nothing_pending(a)


async def test_disconnect_is_one_batched_leave_per_stream(app):
    watcher_s, watcher_t, leaver = await player(app), await player(app), await player(app)
    await drive(watcher_s, "join", stream=S)
    await drive(watcher_t, "join", stream=T)
    other_user, _ = new_user()
    await drive(leaver, "join", stream=S)
    await drive(leaver, "join", stream=S, user_id=other_user)  # a second presence of the session on S
    await drive(leaver, "join", stream=T)
    for _ in range(2):
        await watcher_s.recv()
    await watcher_t.recv()
    await leaver.close()
    leave_s = await watcher_s.recv()
    leaves = leave_s["stream_presence_event"]["leaves"]
    assert sorted(p["user_id"] for p in leaves) == sorted([leaver.user_id, other_user])
    assert "joins" not in leave_s["stream_presence_event"]
    assert await watcher_t.recv() == event(T, leaves=[wire(leaver)])
    await nothing_pending(watcher_s)
    await nothing_pending(watcher_t)


async def test_kick_is_a_leave_and_the_socket_stays_open(app):
    a, b = await player(app), await player(app)
    await drive(a, "join", stream=S)
    await drive(b, "join", stream=S)
    await a.recv()
    pushed, _ = await drive(a, "kick", stream=S, user_id=b.user_id, session_id=b.session_id)
    assert pushed == [event(S, leaves=[wire(b)])]
    await nothing_pending(b)  # no leave for the kicked one, and still connected


async def test_stream_close_sends_nothing(app):
    a, b = await player(app), await player(app)
    await drive(a, "join", stream=S)
    await drive(b, "join", stream=S)
    await a.recv()
    pushed, _ = await drive(a, "close", stream=S)
    assert pushed == []
    await nothing_pending(b)
    _, count = await drive(a, "count", stream=S)
    assert count["rpc"]["payload"] == "0"


async def test_targeted_send_skips_the_membership_check(app):
    a, outsider = await player(app), await player(app)
    await drive(a, "join", stream=S)
    pushed, _ = await drive(a, "send", stream=S, data="psst", presences=[{"session_id": outsider.session_id}])
    assert pushed == []  # only the chosen session
    assert await outsider.recv() == {"stream_data": {"stream": S, "data": "psst", "reliable": True}}


@pytest.mark.parametrize(
    ("stream", "key", "ident"),
    [
        ({"mode": 2, "label": "lobby"}, "channel_presence_event", {"channel_id": "2...lobby", "room_name": "lobby"}),
        ({"mode": 5, "subject": "b7e8a1c2-63f4-4a7c-9d2e-3f1a2b3c4d5e"}, "match_presence_event", {"match_id": "b7e8a1c2-63f4-4a7c-9d2e-3f1a2b3c4d5e."}),
        ({"mode": 7, "subject": "b7e8a1c2-63f4-4a7c-9d2e-3f1a2b3c4d5e", "label": "nakama"}, "party_presence_event", {"party_id": "b7e8a1c2-63f4-4a7c-9d2e-3f1a2b3c4d5e.nakama"}),
    ],
)
async def test_built_in_modes_use_their_envelopes(app, stream, key, ident):
    a = await player(app)
    pushed, _ = await drive(a, "join", stream=stream)
    assert pushed == [{key: {**ident, "joins": [wire(a)]}}]
