"""The examples run against a real server with the shipped lua_modules/."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

import chat_channels  # noqa: E402
import chat_room  # noqa: E402
import tictactoe  # noqa: E402


async def test_chat_room_example_joins_sends_and_sees_its_own_message(start_server):
    modules = {p.name: p.read_text() for p in (ROOT / "lua_modules").glob("*.lua")}
    app = await start_server(modules)
    pushed = await chat_room.chat(app.port, "example-device-test", "hi there")
    joins = [e["channel_presence_event"] for e in pushed if "channel_presence_event" in e]
    assert joins and joins[0]["room_name"] == "Global Chat Room" and "joins" in joins[0]
    data = [e["stream_data"] for e in pushed if "stream_data" in e]
    assert [json.loads(d["data"])["text"] for d in data] == ["hi there"]
    assert data[0]["stream"] == {"mode": 2, "label": "Global Chat Room"}


async def test_tictactoe_example_plays_a_game_to_the_end(start_server):
    modules = {p.name: p.read_text() for p in (ROOT / "lua_modules").glob("*.lua")}
    app = await start_server(modules)
    first, second = await tictactoe.play(app.port)
    assert first == second and (first["winner"], first["reason"]) == (1, "line")
    assert first["board"] == [1, 2, 1, 2, 1, 2, 1, 0, 0]  # first free square each turn: X's diagonal 3-5-7


async def test_chat_channels_example_joins_sends_edits_and_reads_history(start_server):
    app = await start_server()
    seen = await chat_channels.chat(app.port, "example room", "hi there")
    assert seen["channel_id"] == "2...example room"
    texts = [json.loads(e["channel_message"]["content"])["text"] for e in seen["bob"] if "channel_message" in e]
    assert texts == ["hi there", "hi there (edited)"]
    assert [e["channel_message"]["code"] for e in seen["bob"] if "channel_message" in e] == [0, 1]
    (stored,) = seen["history"]
    assert json.loads(stored["content"])["text"] == "hi there (edited)" and stored["code"] == 0
    joins = [e["channel_presence_event"] for e in seen["ann"] if "channel_presence_event" in e]
    assert joins and joins[-1]["room_name"] == "example room"
