"""Parties and the rest of the server: membership changed through Lua's stream functions,
the idle check, realtime hooks, and the party config section."""

from __future__ import annotations

import asyncio

import pytest

from host.config import Config, validate
from host.features.parties.party import parse_party_id
from tests.conftest import WAIT
from tests.features.parties.helpers import bad, joined, leader, left, player
from tests.net.streams_lua import STREAMS_LUA, drive

HOOKS = """
local nk = require("nakama")
nk.register_rt_before(function(ctx, envelope)
  envelope.party_create.max_size = 2
  return envelope
end, "PartyCreate")
nk.register_rt_after(function(ctx, out, envelope)
  nk.localcache_put("joined", envelope.party_join.party_id .. "|" .. tostring(out.cid))
end, "PartyJoin")
nk.register_rt_before(function(ctx, envelope)
  error("no data today")
end, "PartyDataSend")
nk.register_rt_before(function(ctx, envelope) return nil end, "PartyClose")
nk.register_rpc(function(ctx, payload) return nk.localcache_get("joined", "") end, "joined")
"""


@pytest.fixture
async def app(start_server):
    return await start_server({"streams.lua": STREAMS_LUA})


def party_stream(party_id: str) -> dict:
    ref = parse_party_id(party_id)
    return {"mode": 7, "subject": ref.uuid, "label": ref.node}


async def test_realtime_hooks_run_around_party_messages(start_server):
    app = await start_server({"streams.lua": STREAMS_LUA, "hooks.lua": HOOKS})
    a, b = await player(app), await player(app)
    _, reply = await a.ask("party_create", open=True, max_size=10)
    pid = reply["party"]["party_id"]
    assert reply["party"]["max_size"] == 2  # the before hook rewrote the request
    cid = b.send("party_join", party_id=pid)
    await b.reply(cid)
    _, got = await drive(b.ws, "joined")
    assert got["rpc"]["payload"] == f"{pid}|{cid}"
    assert await b.error("party_data_send", party_id=pid, op_code=1) == {"code": 7, "message": "no data today"}
    pushed, reply = await a.ask("party_close", party_id=pid)  # a before hook returning nil rejects
    assert pushed == [joined(pid, b)]
    assert reply["error"] == {"code": 1, "message": "Requested resource was not found."}
    assert await a.ws.wait_closed() == (1000, "requested resource was not found")


async def test_a_kick_from_lua_is_a_leave(app):
    a, b, c = await player(app), await player(app), await player(app)
    pid = await a.create()
    for p in (b, c):
        await p.ok("party_join", party_id=pid)
    await a.recv(), await a.recv(), await b.recv()
    await drive(c.ws, "kick", user_id=a.user_id, session_id=a.session_id, stream=party_stream(pid))
    assert await b.recv() == leader(pid, b)
    assert await b.recv() == left(pid, a)
    assert await a.error("party_close", party_id=pid) == bad("Error closing party: party leader only")
    assert await a.error("party_data_send", party_id=pid, op_code=1) == bad("Error sending party data: party member not found")


async def test_a_join_from_lua_makes_a_member(app):
    a, b = await player(app), await player(app)
    pid = await a.create(label='{"x":1}')
    pushed, _ = await drive(b.ws, "join", stream=party_stream(pid))
    assert pushed[0]["party"]["presences"] == [a.presence, b.presence] and pushed[0]["party"]["label"] == '{"x":1}'
    assert pushed[1] == joined(pid, b)
    await b.ok("party_data_send", party_id=pid, op_code=2)
    assert await a.recv() == joined(pid, b)
    assert (await a.recv())["party_data"]["presence"] == b.presence


async def test_an_update_from_lua_changes_no_membership(app):
    a, b = await player(app), await player(app)
    pid = await a.create()
    await b.ok("party_join", party_id=pid)
    await a.recv()
    await drive(a.ws, "update", stream=party_stream(pid), persistence=True)
    parties = app.services.features["parties"]
    party = parties.registry.get(parse_party_id(pid).uuid)
    assert [m.session_id for m in party.members] == [a.session_id, b.session_id] and party.leader.session_id == a.session_id


async def test_the_idle_check_closes_a_party_whose_stream_was_closed(app):
    a, b = await player(app), await player(app)
    pid = await a.create()
    await drive(a.ws, "close", stream=party_stream(pid))
    core = app.services.features["parties"]
    core.check_idle()  # something happened since the last check: kept
    assert core.registry.get(parse_party_id(pid).uuid) is not None
    core.check_idle()  # idle and nobody tracked: closed
    assert core.registry.get(parse_party_id(pid).uuid) is None
    assert await b.error("party_join", party_id=pid) == bad("Error joining party: party not found")


async def test_the_idle_check_keeps_parties_with_members(app):
    a = await player(app)
    pid = await a.create()
    core = app.services.features["parties"]
    core.check_idle(), core.check_idle(), core.check_idle()
    assert core.registry.get(parse_party_id(pid).uuid) is not None


async def test_the_idle_timer_runs(start_server):
    app = await start_server({"streams.lua": STREAMS_LUA}, party__idle_check_interval_ms=10)
    a = await player(app)
    pid = await a.create()
    await drive(a.ws, "close", stream=party_stream(pid))
    registry = app.services.features["parties"].registry

    async def gone() -> None:
        while registry.parties():
            await a.quiet()  # a round trip a turn: the timer runs meanwhile

    await asyncio.wait_for(gone(), WAIT)


def test_party_config_defaults_and_checks():
    c = Config()
    assert (c.party.label_update_interval_ms, c.party.idle_check_interval_ms) == (1000, 30000)
    c.party.label_update_interval_ms = 0
    c.party.idle_check_interval_ms = 0  # 0 turns the idle check off: fine
    assert validate(c) == ["party.label_update_interval_ms: must be positive"]


def test_party_config_flags():
    import argparse

    from host.config import add_flags, load

    parser = argparse.ArgumentParser()
    add_flags(parser)
    c = load(parser.parse_args(["--party.label_update_interval_ms", "250", "--party.idle_check_interval_ms", "-1"]))
    assert (c.party.label_update_interval_ms, c.party.idle_check_interval_ms) == (250, -1)
