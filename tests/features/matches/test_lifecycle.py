"""Matches across server events: shutdown (match_terminate, the grace period) and hot reload."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from host.net.errors import CloseCode
from tests.conftest import lua
from tests.features.matches.helpers import MODULES, PROBE, create, player

pytestmark = pytest.mark.timeout(60)


async def test_shutdown_without_grace_still_calls_match_terminate(start_server):
    """Nakama skips match_terminate when shutdown_grace_sec is 0."""
    app = await start_server(MODULES)
    a = await player(app)
    match_id = await create(a)
    await a.request("match_join", {"match_id": match_id})
    closing = asyncio.create_task(app.close())
    assert await a.data(99) == "terminate:0"
    end = await a.until(lambda e: "match_presence_event" in e and "leaves" in e["match_presence_event"])
    assert end["match_presence_event"]["leaves"] == [a.presence]
    assert (await a.client.wait_closed())[0] == CloseCode.GOING_AWAY
    await closing


async def test_grace_period_keeps_matches_ticking_and_refuses_new_ones(start_server):
    app = await start_server(MODULES, shutdown_grace_sec=1)
    a = await player(app)
    quick = await create(a, end_on_terminate=True)
    slow = await create(a, rate=30, tick_op=50)
    for match_id in (quick, slow):
        await a.request("match_join", {"match_id": match_id})
    closing = asyncio.create_task(app.close())
    assert await a.data(99) == "terminate:1"
    assert await a.data(99) == "terminate:1"
    await a.until(lambda e: e.get("match_presence_event", {}).get("match_id") == quick and "leaves" in e["match_presence_event"])
    assert await a.data(50)  # the other one still ticks inside the grace period
    reply = await a.request("rpc", {"id": "create", "payload": "{}"})
    assert reply["error"]["message"] == "error creating match: shutdown in progress"
    await a.until(lambda e: e.get("match_presence_event", {}).get("match_id") == slow and "leaves" in e["match_presence_event"])
    await closing


def versioned(n: int, signal: bool = True) -> str:
    source = lua(PROBE).replace('return state, "echo:" .. data', f'return state, "v{n}@" .. ctx.runtime_generation')
    return source if signal else source.replace("function M.match_signal", "local function unused")


async def test_running_matches_keep_their_generation_across_reloads(start_server):
    app = await start_server(MODULES)
    runtime = app.services.runtime
    probe = Path(app.services.config.runtime.path) / "probe.lua"
    a = await player(app)
    probe.write_text(versioned(1))
    assert (await runtime.reload()).ok
    old = await create(a)
    probe.write_text(versioned(2))
    assert (await runtime.reload()).ok
    new = await create(a)
    assert await a.rpc("signal", {"id": old, "data": "which"}) == "v1@2"
    assert await a.rpc("signal", {"id": new, "data": "which"}) == "v2@3"

    probe.write_text(versioned(3, signal=False))  # loads as a module, but is no match handler any more
    result = await runtime.reload()
    assert (result.ok, result.errors) == (False, ["probe.lua: match handler: match_signal not found or not a function"])
    assert json.loads(await a.rpc("get", new))["handler_name"] == "probe"
    assert await a.rpc("signal", {"id": (await create(a)), "data": "which"}) == "v2@3"
