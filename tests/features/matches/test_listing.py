"""Listing: the label query subset, GET /v2/match with its filters and errors, nk.match_list/get."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import quote

import pytest

from host.features.labelquery import QueryError
from host.features.labelquery import parse as parse_query
from host.features.matches.registry import document
from tests.conftest import token_for
from tests.features.matches.helpers import MODULES, create, player
from tests.net.helpers import http

DOC = document('{"mode":"ranked","skill":1450,"open":true,"tags":["eu","fast"],"map":{"name":"two words"},"start":"2026-01-02T03:04:05Z"}',
               "nakama", 10, "games.arena", 1_700_000_000_000)


@pytest.mark.parametrize("query,score", [
    ("", 0.0),
    ("*", 1.0),
    ("label.mode:ranked", 1.0),
    ("label.mode:casual", None),
    ("+label.mode:ranked +label.open:T", 2.0),
    ("+label.mode:ranked label.tags:eu label.tags:asia", 2.0),  # should clauses only add score beside a must
    ("label.mode:casual label.tags:fast", 1.0),  # only-should: one match is enough
    ("-label.mode:casual", 0.0),  # only-must-not starts from every match
    ("+label.mode:ranked -label.tags:eu", None),
    ("label.skill:>=1400 label.skill:<1500", 2.0),
    ("+label.skill:>1450", None),
    ("label.skill:1450", 1.0),
    ("label.skill:>-5", 1.0),
    ('label.map.name:"two words"', 1.0),
    (r"label.map.name:two\ words", 1.0),
    ("label.mode:ran*", 1.0),
    ("label.mode:r?nked", 1.0),
    (r"label.mode:ran\*", None),
    ("label.mode:ranked^3", 3.0),
    ('label.start:>="2026-01-01T00:00:00Z"', 1.0),
    ("label_string:*ranked*", 1.0),
    ("handler_name:games.arena tick_rate:10 node:nakama", 3.0),
    ("ranked", None),  # a term without a field matches nothing, as in Nakama
])
def test_query_matches_and_scores(query, score):
    assert parse_query(query).score(DOC) == score


@pytest.mark.parametrize("query", ['label.mode:"ranked', "label.x:>abc", "label.x:/re/", ":x", "label.x:", "+", "label.x:a^b", "a\\"])
def test_query_errors(query):
    with pytest.raises(QueryError):
        parse_query(query)


def test_wildcards_stay_linear():
    doc = document("a" * 2048, "nakama", 1, "m", 0)
    started = time.process_time()
    assert parse_query("label_string:*a*a*a*a*a*a*b").score(doc) is None
    assert time.process_time() - started < 5  # exponential backtracking would take hours


async def test_rest_listing_filters_and_errors(start_server):
    app = await start_server(MODULES)
    a = await player(app)
    ids = [await create(a, label=f'{{"mode":"{mode}"}}') for mode in ("ranked", "casual", "ranked")]
    relayed = (await a.request("match_create", {}))["match"]["match_id"]
    await a.request("match_join", {"match_id": ids[0]})
    await a.data(100)  # match_join ran: the match counts its member
    auth = {"Authorization": "Bearer " + token_for(app)}

    async def listing(query: str = "") -> dict:
        reply = await http(app.port, "GET", "/v2/match" + query, headers=auth)
        assert reply.status == 200, reply.body
        return reply.json()

    everything = (await listing("?limit=100"))["matches"]
    assert [m["match_id"] for m in everything] == [ids[2], ids[1], ids[0], relayed]  # newest first, relayed last
    assert everything[2] == {"match_id": ids[0], "authoritative": True, "label": '{"mode":"ranked"}', "size": 1, "tick_rate": 30, "handler_name": "probe"}
    assert everything[3] == {"match_id": relayed, "size": 1}
    assert await listing("?limit=1") == {"matches": [everything[0]]}  # default limit 10; here 1
    ranked = await listing("?authoritative=true&query=%2Blabel.mode:ranked")
    assert [m["match_id"] for m in ranked["matches"]] == [ids[2], ids[0]]
    exact = await listing("?authoritative=true&label=" + quote('{"mode":"casual"}'))
    assert [m["match_id"] for m in exact["matches"]] == [ids[1]]
    sized = await listing("?authoritative=true&min_size=1&max_size=1")
    assert [m["match_id"] for m in sized["matches"]] == [ids[0]]
    assert [m["match_id"] for m in (await listing("?authoritative=false"))["matches"]] == [relayed]
    assert await listing("?authoritative=true&label=none") == {}

    for query, message in [
        ("?limit=0", "Invalid limit - limit must be between 1 and 100."),
        ("?limit=101", "Invalid limit - limit must be between 1 and 100."),
        ("?authoritative=false&label=x", "Label filtering is not supported for non-authoritative matches."),
        ("?authoritative=false&query=x", "Query filtering is not supported for non-authoritative matches."),
        ("?min_size=-1", "Minimum size must be 0 or above."),
        ("?max_size=-1", "Maximum size must be 0 or above."),
        ("?min_size=3&max_size=2", "Maximum size must be greater than or equal to minimum size when both are specified."),
        ("?authoritative=true&query=label.x:%22open", "Invalid match query: unterminated quote at offset 13"),
    ]:
        reply = await http(app.port, "GET", "/v2/match" + query, headers=auth)
        assert (reply.status, reply.json()) == (400, {"code": 3, "message": message}), query
    reply = await http(app.port, "GET", "/v2/match")
    assert (reply.status, reply.json()["message"]) == (401, "Auth token required")


async def test_rest_listing_runs_its_hooks(start_server):
    hooks = """
        local nk = require("nakama")
        nk.register_req_before(function(ctx, request) request.limit = 1; return request end, "ListMatches")
        nk.register_req_after(function(ctx, response) nk.localcache_put("seen", #response.matches) end, "ListMatches")
        nk.register_rpc(function() return tostring(nk.localcache_get("seen")) end, "seen")
    """
    app = await start_server({**MODULES, "hooks.lua": hooks})
    a = await player(app)
    for _ in range(3):
        await create(a)
    reply = await http(app.port, "GET", "/v2/match?limit=50", headers={"Authorization": "Bearer " + token_for(app)})
    assert len(reply.json()["matches"]) == 1
    assert await a.rpc("seen") == "1"


async def test_nk_match_get_and_list(start_server):
    app = await start_server(MODULES)
    a = await player(app)
    match_id = await create(a, label="solo")
    relayed = (await a.request("match_create", {}))["match"]["match_id"]
    got = json.loads(await a.rpc("get", match_id))
    assert got == {"match_id": match_id, "authoritative": True, "label": "solo", "size": 0, "tick_rate": 30, "handler_name": "probe"}
    assert json.loads(await a.rpc("get", relayed)) == {"match_id": relayed, "authoritative": False, "size": 1}
    assert json.loads(await a.rpc("get", f"{uuid.uuid4()}.nakama")) == {"missing": True}
    reply = await a.request("rpc", {"id": "get", "payload": "bad"})
    assert reply["error"]["message"] == "failed to get match: match id invalid"
    # every argument is optional (Nakama requires all six positionally); the default limit is 1
    assert len(json.loads(await a.rpc("list", {}))) == 1
    listed = json.loads(await a.rpc("list", {"limit": 10, "authoritative": True, "label": "solo"}))
    assert [m["match_id"] for m in listed] == [match_id]
    reply = await a.request("rpc", {"id": "list", "payload": json.dumps({"limit": 10, "query": "x:\"open"})})
    assert reply["error"]["message"].startswith("failed to list matches: unterminated quote")
