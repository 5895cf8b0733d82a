"""The shipped tic-tac-toe game (lua_modules/tictactoe.lua and tictactoe_lobby.lua) over real sockets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.features.matches.helpers import player

ROOT = Path(__file__).resolve().parent.parent
START, UPDATE, DONE, MOVE, REJECTED = 1, 2, 3, 4, 5


@pytest.fixture
async def app(start_server):
    modules = {name: (ROOT / "lua_modules" / name).read_text() for name in ("tictactoe.lua", "tictactoe_lobby.lua")}
    return await start_server(modules)


async def seat(app):
    p = await player(app)
    match_id = json.loads(await p.rpc("tictactoe_find"))["match_id"]
    reply = await p.request("match_join", {"match_id": match_id})
    assert "match" in reply, reply
    return p, match_id


async def message(p, op: int) -> dict:
    return json.loads(await p.data(op))


def move(p, match_id: str, position) -> None:
    p.send_data(match_id, MOVE, json.dumps({"position": position}))


async def test_two_players_find_one_match_and_the_server_referees(app):
    x, match_id = await seat(app)
    o, same = await seat(app)
    assert same == match_id  # the second player found the first one's open match
    start = await message(x, START)
    assert start["marks"] == {x.user_id: 1, o.user_id: 2} and start["mark"] == 1 and start["board"] == [0] * 9
    assert (await message(o, START))["marks"] == start["marks"]
    # a third player is turned away by match_join_attempt; the lobby now makes a new match
    third = await player(app)
    assert (await third.request("match_join", {"match_id": match_id}))["error"] == {"code": 5, "message": "match full"}
    assert json.loads(await third.rpc("tictactoe_find"))["match_id"] != match_id

    move(o, match_id, 0)
    assert (await message(o, REJECTED))["reason"] == "not your turn"
    for mover, position in [(x, 0), (o, 3), (x, 1), (o, 4)]:
        move(mover, match_id, position)
        update = await message(x, UPDATE)
    assert update["board"] == [1, 1, 0, 2, 2, 0, 0, 0, 0] and update["mark"] == 1
    move(x, match_id, 1)
    assert (await message(x, REJECTED))["reason"] == "that square is taken"
    move(x, match_id, 9)
    assert (await message(x, REJECTED))["reason"] == "position must be 0-8"
    move(x, match_id, 2)
    done = await message(o, DONE)
    assert (done["winner"], done["winner_user_id"], done["reason"]) == (1, x.user_id, "line")


async def test_a_player_who_leaves_forfeits(app):
    x, match_id = await seat(app)
    o, _ = await seat(app)
    await message(x, START)
    await o.request("match_leave", {"match_id": match_id})
    done = await message(x, DONE)
    assert (done["winner"], done["reason"]) == (1, "opponent left")


async def test_create_always_makes_a_new_open_match(app):
    p = await player(app)
    first = json.loads(await p.rpc("tictactoe_create"))["match_id"]
    second = json.loads(await p.rpc("tictactoe_create"))["match_id"]
    assert first != second and first.endswith(".nakama")
    assert json.loads(await p.rpc("tictactoe_find"))["match_id"] in (first, second)  # both have free seats
