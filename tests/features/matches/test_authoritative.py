"""Authoritative matches over real sockets: the handler lifecycle, the dispatcher, bad handlers."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from tests.features.matches.helpers import MODULES, create, line_of, player

pytestmark = pytest.mark.timeout(60)

BOOM, LOOP = line_of('error("boom")'), line_of("function M.match_loop")


@pytest.fixture
async def app(start_server):
    return await start_server(MODULES, runtime__lua_call_timeout_ms=400)


async def joined(app, match_id: str, **metadata):
    p = await player(app)
    reply = await p.request("match_join", {"match_id": match_id, **({"metadata": metadata} if metadata else {})})
    assert "match" in reply, reply
    p.joined = reply["match"]
    return p


def ended(envelope) -> bool:
    return "match_presence_event" in envelope and "leaves" in envelope["match_presence_event"]


async def test_join_reply_presence_events_and_callback_arguments(app):
    a = await player(app)
    match_id = await create(a, label="lobby")
    assert match_id.endswith(".nakama") and len(match_id) == 36 + len(".nakama")
    reply = await a.request("match_join", {"match_id": match_id})
    assert reply["match"] == {"match_id": match_id, "authoritative": True, "label": "lobby", "size": 1, "self": a.presence}
    assert await a.data(100) == f"join:{a.username}:0"  # match_join, reason 0
    b = await joined(app, match_id)
    assert b.joined["presences"] == [a.presence] and b.joined["size"] == 2
    event = await a.until(lambda e: "match_presence_event" in e and e["match_presence_event"]["joins"][0] != a.presence)
    assert event == {"match_presence_event": {"match_id": match_id, "joins": [b.presence]}}
    # joining twice: accepted again, nothing new happens in the match
    again = await b.request("match_join", {"match_id": match_id})
    assert again["match"]["presences"] == [a.presence] and again["match"]["size"] == 2
    await b.client.close()
    assert await a.data(101) == f"leave:{b.username}:4"  # disconnect


async def test_join_attempt_rejects_with_the_handlers_reason_and_sees_the_joiner(app):
    a = await player(app)
    match_id = await create(a)
    reply = await a.request("match_join", {"match_id": match_id, "metadata": {"reject": "table is full"}})
    assert reply["error"] == {"code": 5, "message": "table is full"}
    b = await joined(app, match_id)
    ctx = json.loads(await b.rpc("signal", {"id": match_id, "data": "joiner"}))
    assert ctx == {"user_id": b.user_id, "session_id": b.session_id, "node": "nakama"}


async def test_ticks_are_counted_from_zero_and_data_reaches_match_loop(app):
    a = await player(app)
    match_id = await create(a, rate=60, tick_op=50)
    await a.request("match_join", {"match_id": match_id})
    ticks = [int(await a.data(50)) for _ in range(5)]
    assert ticks == list(range(ticks[0], ticks[0] + 5))
    a.send_data(match_id, 1, "hello")
    assert await a.data(1) == "hello"
    echoed = a.seen[-1]["match_data"]
    assert echoed["presence"] == a.presence and echoed["reliable"] is True
    assert int(await a.rpc("signal", {"id": match_id, "data": "ticks"})) >= 5


async def test_deferred_broadcasts_go_after_the_callback_and_a_target_list_filters(app):
    a = await player(app)
    match_id = await create(a)
    await a.request("match_join", {"match_id": match_id})
    b = await joined(app, match_id)
    a.send_data(match_id, 2)
    assert await a.data(3) == "now"
    assert await a.data(2) == "deferred"
    b.send_data(match_id, 10, "only b")
    assert await b.data(10) == "only b"
    a.send_data(match_id, 1, "to all")
    assert await a.data(1) == "to all"
    assert not any(e.get("match_data", {}).get("op_code") == "10" for e in a.seen)


async def test_label_update_reaches_ctx_at_once_and_the_listing_soon(start_server):
    app = await start_server(MODULES, match__label_update_interval_ms=50)
    a = await player(app)
    match_id = await create(a, label="old")
    await a.request("match_join", {"match_id": match_id})
    a.send_data(match_id, 4, '{"mode":"ranked"}')
    assert await a.data(4) == '{"mode":"ranked"}'
    for _ in range(200):  # the index refreshes every 50 ms: poll the listing, a query the client would make
        found = json.loads(await a.rpc("list", {"limit": 10, "authoritative": True, "query": "+label.mode:ranked"}))
        if found:
            break
        await asyncio.sleep(0.02)
    assert [m["match_id"] for m in found] == [match_id] and found[0]["label"] == '{"mode":"ranked"}'


async def test_signal_answers_and_a_nil_state_ends_the_match_after_answering(app):
    a = await player(app)
    match_id = await create(a)
    assert await a.rpc("signal", {"id": match_id, "data": "ping"}) == "echo:ping"
    assert await a.rpc("signal", {"id": match_id, "data": "lone"}) == ""  # a lone state: no response
    assert await a.rpc("signal", {"id": match_id, "data": "self"}) == "failed to signal match: a match cannot signal itself"
    ctx = json.loads(await a.rpc("signal", {"id": match_id, "data": "ctx"}))
    assert ctx["execution_mode"] == "match" and ctx["match_id"] == match_id and ctx["match_tick_rate"] == 30
    assert await a.rpc("signal", {"id": match_id, "data": "end"}) == "bye"
    assert await app.services.features["matches"].wait_ended(5)
    reply = await a.request("rpc", {"id": "signal", "payload": json.dumps({"id": match_id, "data": "x"})})
    assert reply["error"]["message"] == "failed to signal match: match not found"


@pytest.mark.parametrize("op,logged", [
    (5, f"probe.lua:{BOOM}: boom"),
    (9, f"probe.lua:{LOOP}: Match loop returned too many values, stopping match"),
    (6, f"probe.lua:{LOOP}: match_loop aborted: call exceeded the 400 ms deadline"),
])
async def test_a_failing_callback_ends_only_its_match_and_members_stay_connected(app, caplog, op, logged):
    """Nakama disconnects every member's socket; here they are told the match ended (every
    member leaves) and keep their connection, and the other matches keep ticking."""
    a = await player(app)
    bad = await create(a)
    good = await create(a, rate=30, tick_op=50)
    await a.request("match_join", {"match_id": bad})
    await a.request("match_join", {"match_id": good})
    await a.data(50)
    a.pending.clear()
    mark = len(a.seen)
    with caplog.at_level(logging.ERROR, logger="nkhost.match"):
        a.send_data(bad, op)
        end = await a.until(lambda e: ended(e) and e["match_presence_event"]["match_id"] == bad)
    assert end["match_presence_event"]["leaves"] == [a.presence]
    assert logged in caplog.text
    if op == 6:  # the runaway held one worker for its whole deadline: the other match ticked meanwhile
        meanwhile = a.seen[mark:next(i for i, e in enumerate(a.seen) if e is end)]
        assert [e for e in meanwhile if e.get("match_data", {}).get("match_id") == good]  # 30 ticks/s: not blocked behind it
    assert (await a.request("ping", {})).get("pong") == {}
    assert await a.data(50) is not None
    reply = await a.request("match_join", {"match_id": bad})
    assert reply["error"] == {"code": 4, "message": "Match not found"}


async def test_a_nil_state_ends_the_match_and_kick_leaves(app):
    a = await player(app)
    match_id = await create(a)
    await a.request("match_join", {"match_id": match_id})
    b = await joined(app, match_id)
    b.send_data(match_id, 8)  # kick the sender
    assert await a.data(101) == f"leave:{b.username}:3"
    leave = await a.until(lambda e: "match_presence_event" in e and "leaves" in e["match_presence_event"])
    assert leave["match_presence_event"]["leaves"] == [b.presence]
    a.send_data(match_id, 7)
    end = await a.until(ended)
    assert end["match_presence_event"]["leaves"] == [a.presence]


async def test_a_join_attempt_returning_nil_ends_the_match_and_rejects(app):
    a = await player(app)
    match_id = await create(a)
    reply = await a.request("match_join", {"match_id": match_id, "metadata": {"nil_state": "1"}})
    assert reply["error"] == {"code": 5, "message": "Match join rejected"}
    assert await app.services.features["matches"].wait_ended(5)


async def test_an_empty_match_ends_after_max_empty_sec(start_server):
    app = await start_server(MODULES, match__max_empty_sec=1)
    a = await player(app)
    await create(a, rate=30)  # 30 empty match_loop calls end it
    assert await app.services.features["matches"].wait_ended(30)


async def test_bad_ids_and_unknown_matches(app):
    a = await player(app)
    assert (await a.request("match_join", {"match_id": "nope"}))["error"] == {"code": 3, "message": "Invalid match ID"}
    assert (await a.request("match_join", {"match_id": "not-a-uuid.nakama"}))["error"] == {"code": 3, "message": "Invalid match ID"}
    unknown = "8a5a4f55-0d0d-4e27-9d3f-5b1c8f3c0000.nakama"
    assert (await a.request("match_join", {"match_id": unknown}))["error"] == {"code": 4, "message": "Match not found"}
    match_id = await create(a)
    foreign = match_id.split(".")[0] + ".othernode"
    assert (await a.request("match_join", {"match_id": foreign}))["error"] == {"code": 4, "message": "Match not found"}
    assert (await a.request("match_join", {}))["error"] == {"code": 3, "message": "No match ID or token found"}
    assert (await a.request("match_join", {"token": "x.y.z"}))["error"] == {"code": 3, "message": "Invalid match token"}
    # data from a non-member is dropped silently; the socket stays open
    a.send_data(match_id, 1, "x")
    assert (await a.request("ping", {})).get("pong") == {}


async def test_queue_limits_give_clear_errors(start_server):
    app = await start_server(MODULES, match__input_queue_size=1, match__join_attempt_queue_size=1)
    a = await player(app)
    match_id = await create(a, rate=1)
    await a.request("match_join", {"match_id": match_id})
    for i in range(3):  # the next tick is up to a second away: the second and third do not fit
        a.send_data(match_id, 1, str(i), )
    error = await a.until(lambda e: "error" in e)
    assert error == {"error": {"message": "Match input queue is full: message dropped (match.input_queue_size)"}}


async def test_match_create_errors(app):
    a = await player(app)

    async def fails(payload) -> str:
        reply = await a.request("rpc", {"id": "create", "payload": json.dumps(payload)})
        return reply["error"]["message"]

    assert await fails({"module": "missing"}) == "error creating match: error loading match module: module 'missing' not found"
    assert await fails({"module": "rpcs"}) == "error creating match: match module must return a table containing the match callback functions"
    assert (await fails({"params": {"rate": 61}})).endswith("error creating match: match_init returned invalid tick rate, must be between 1 and 60")
    assert (await fails({"params": {"label": "x" * 2049}})).endswith("match_init returned invalid label, must be 2048 bytes or less")


async def test_a_module_can_create_a_match_while_the_server_starts(start_server):
    lobby = """
        local nk = require("nakama")
        nk.run_once(function() nk.localcache_put("lobby", nk.match_create("probe", { label = "lobby" })) end)
        nk.register_rpc(function() return nk.localcache_get("lobby") end, "lobby")
    """
    app = await start_server({**MODULES, "lobby.lua": lobby})
    a = await player(app)
    match_id = await a.rpc("lobby")
    assert json.loads(await a.rpc("get", match_id))["label"] == "lobby"


async def test_the_join_reply_comes_before_what_match_join_broadcasts(app):
    """Nakama queues match_join before the joiner is tracked and replied to, so its broadcasts
    can beat the reply; a client that learns its match id from the reply (nakama-js's
    ``await socket.joinMatch``) then drops them. Here the reply always comes first, before the
    join's presence events too."""
    a = await player(app)
    match_id = await create(a)
    for p in [a] + [await player(app) for _ in range(3)]:
        reply = await p.request("match_join", {"match_id": match_id})
        assert "match" in reply, reply
        assert not any("match_data" in e or "match_presence_event" in e for e in p.seen[: p.seen.index(reply)]), p.seen
        assert await p.data(100) == f"join:{p.username}:0"
