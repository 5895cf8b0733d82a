"""Relayed matches: over real sockets, and a property test of the relay on the engine."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from host.config import Config
from host.features.matches.core import Matches
from host.features.matches.ids import MatchId
from tests.features.matches.helpers import decode, encode, player
from tests.streams.helpers import make_engine


async def test_create_join_data_and_leave(start_server):
    app = await start_server()
    a, b, c = await player(app), await player(app), await player(app)
    created = (await a.request("match_create", {}))["match"]
    match_id = created["match_id"]
    assert match_id.endswith(".") and uuid.UUID(match_id[:-1])
    assert created == {"match_id": match_id, "size": 1, "self": a.presence}
    joined = (await b.request("match_join", {"match_id": match_id}))["match"]
    assert joined == {"match_id": match_id, "size": 2, "presences": [a.presence], "self": b.presence}
    assert await a.until(lambda e: "match_presence_event" in e and e["match_presence_event"].get("joins") == [b.presence])
    await c.request("match_join", {"match_id": match_id})

    a.send({"match_data_send": {"match_id": match_id, "op_code": 7, "data": encode("to all")}})
    for other in (b, c):
        got = (await other.until(lambda e: "match_data" in e))["match_data"]
        assert got == {"match_id": match_id, "presence": a.presence, "op_code": "7", "data": encode("to all")}
    a.send({"match_data_send": {"match_id": match_id, "op_code": "8", "data": encode("to c"), "reliable": True,
                                "presences": [{"user_id": c.user_id, "session_id": c.session_id}]}})
    got = (await c.until(lambda e: "match_data" in e))["match_data"]
    assert (decode(got["data"]), got["reliable"]) == ("to c", True)

    assert await b.request("match_leave", {"match_id": match_id}) == {"cid": str(b.cid)}
    left = await a.until(lambda e: "match_presence_event" in e and "leaves" in e["match_presence_event"])
    assert left["match_presence_event"]["leaves"] == [b.presence]
    await c.client.close()  # a disconnect leaves too
    left = await a.until(lambda e: "match_presence_event" in e and "leaves" in e["match_presence_event"])
    assert left["match_presence_event"]["leaves"] == [c.presence]
    # the sender never got its own messages, b only the one for everyone
    assert not any("match_data" in e for e in a.seen)
    assert [decode(e["match_data"]["data"]) for e in b.seen if "match_data" in e] == ["to all"]


async def test_a_name_is_one_match_and_size_counts_everyone(start_server):
    app = await start_server()
    a, b = await player(app), await player(app)
    first = (await a.request("match_create", {"name": "room-42"}))["match"]
    second = (await b.request("match_create", {"name": "room-42"}))["match"]
    assert first["match_id"] == second["match_id"] == f"{uuid.uuid5(uuid.NAMESPACE_DNS, 'room-42')}."
    assert second["presences"] == [a.presence] and second["size"] == 2


async def test_the_join_reply_comes_before_any_presence_event(start_server):
    """Nakama writes the ``match`` reply before the tracker's events go out: a joiner never
    reads a presence event of its match before the reply it learns the match id from."""
    app = await start_server()
    a = await player(app)
    match_id = (await a.request("match_create", {}))["match"]["match_id"]
    for p in [await player(app) for _ in range(3)]:
        reply = await p.request("match_join", {"match_id": match_id})
        assert "match" in reply, reply
        assert not any("match_presence_event" in e for e in p.seen[: p.seen.index(reply)]), p.seen


async def test_bad_input(start_server):
    app = await start_server()
    a = await player(app)
    assert (await a.request("match_join", {"match_id": "x"}))["error"] == {"code": 3, "message": "Invalid match ID"}
    gone = f"{uuid.uuid4()}."
    assert (await a.request("match_join", {"match_id": gone}))["error"] == {"code": 4, "message": "Match not found"}
    assert (await a.request("match_leave", {"match_id": "x"}))["error"] == {"code": 3, "message": "Invalid match ID"}
    assert await a.request("match_leave", {"match_id": gone}) == {"cid": str(a.cid)}  # always acknowledged
    match_id = (await a.request("match_create", {}))["match"]["match_id"]
    # match_data_send errors carry the cid when there is one (Nakama drops it); the socket stays open
    for body, message in [
        ({"match_id": "x"}, "Invalid match ID"),
        ({"match_id": match_id, "op_code": str(1 << 63)}, "Invalid op code: must be a 64-bit integer"),
        ({"match_id": match_id, "op_code": "one"}, "Invalid op code: must be a 64-bit integer"),
        ({"match_id": match_id, "data": "not base64!"}, "Invalid data: must be base64"),
    ]:
        assert (await a.request("match_data_send", body))["error"] == {"code": 3, "message": message}
    a.send({"match_data_send": {"match_id": "x"}})
    assert await a.until(lambda e: "error" in e) == {"error": {"code": 3, "message": "Invalid match ID"}}
    assert (await a.request("ping", {})).get("pong") == {}


async def test_realtime_hooks_see_match_messages(start_server):
    hooks = """
        local nk = require("nakama")
        nk.register_rt_before(function(ctx, envelope)
          if envelope.match_create.name == "forbidden" then return nil end
          envelope.match_create.name = "renamed-" .. envelope.match_create.name
          return envelope
        end, "MatchCreate")
        nk.register_rt_after(function(ctx, out, envelope)
          nk.localcache_put("after", out.match.match_id)
        end, "MatchCreate")
        nk.register_rpc(function() return nk.localcache_get("after") end, "after")
    """
    app = await start_server({"hooks.lua": hooks})
    a = await player(app)
    created = (await a.request("match_create", {"name": "x"}))["match"]
    assert created["match_id"] == f"{uuid.uuid5(uuid.NAMESPACE_DNS, 'renamed-x')}."
    assert await a.rpc("after") == created["match_id"]
    refused = await a.request("match_create", {"name": "forbidden"})
    assert refused["error"] == {"code": 1, "message": "Requested resource was not found."}


# The relay as a property: joins, leaves and sends in any order -------------------------------

N = 4
ops = st.lists(
    st.one_of(
        st.tuples(st.just("join"), st.integers(0, N - 1)),
        st.tuples(st.just("leave"), st.integers(0, N - 1)),
        st.tuples(st.just("send"), st.integers(0, N - 1)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_every_member_receives_each_message_once_in_order_and_never_its_own(sequence):
    eng = make_engine()
    core = Matches(Config(), eng.manager)
    sinks = [eng.connect(f"user{i}") for i in range(N)]
    match_id = MatchId(str(uuid.uuid4()), "")
    members: set[int] = set()
    expected: dict[int, list[str]] = {i: [] for i in range(N)}
    for n, (kind, i) in enumerate(sequence):
        sink = sinks[i]
        if kind == "join":
            eng.manager.user_join(match_id.stream, sink.user_id, sink.session_id, persistence=False)
            members.add(i)
        elif kind == "leave":
            core.leave(sink, match_id)
            members.discard(i)
        else:
            core.send_data(sink, match_id, match_id.text, 1, str(n).encode(), None, True)
            if i in members:
                for j in members - {i}:
                    expected[j].append(str(n))
    for i, sink in enumerate(sinks):
        got = [decode(e["match_data"]["data"]) for e in eng.received(sink) if "match_data" in e]
        assert got == expected[i]


async def test_a_token_join_may_create_the_match(start_server):
    import time

    from host.net.tokens import encode_jwt

    app = await start_server()
    a = await player(app)
    mid = f"{uuid.uuid4()}."
    key = app.services.config.session.encryption_key
    joined = (await a.request("match_join", {"token": encode_jwt({"mid": mid, "exp": int(time.time()) + 30}, key)}))["match"]
    assert joined == {"match_id": mid, "size": 1, "self": a.presence}
    forged = encode_jwt({"mid": mid, "exp": int(time.time()) + 30}, "another key")
    assert (await a.request("match_join", {"token": forged}))["error"] == {"code": 3, "message": "Invalid match token"}
