"""Random sequences of party operations on the real engine (no sockets): the party's state and
the stream agree after every step, and party data reaches exactly the right members, in order."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from host.config import PartyConfig
from host.errors import ApiError
from host.features.parties.core import Parties
from host.features.parties.party import Member, parse_party_id
from host.features.parties.registry import MemoryPartyRegistry
from tests.streams.helpers import make_engine

PLAYERS = 5

player = st.integers(0, PLAYERS - 1)
party = st.integers(0, 3)  # an index into the parties created so far
op = st.one_of(
    st.tuples(st.just("create"), player, st.booleans(), st.integers(1, 4)),
    st.tuples(st.just("join"), player, party),
    st.tuples(st.just("leave"), player, party),
    st.tuples(st.just("accept"), player, party, player),
    st.tuples(st.just("remove"), player, party, player),
    st.tuples(st.just("promote"), player, party, player),
    st.tuples(st.just("close"), player, party),
    st.tuples(st.just("data"), player, party),
    st.tuples(st.just("update"), player, party, st.booleans()),
    st.tuples(st.just("disconnect"), player),
)


class World:
    def __init__(self) -> None:
        self.eng = make_engine()
        self.parties = Parties(self.eng.manager, MemoryPartyRegistry(), PartyConfig())
        self.sinks = [self.eng.connect(f"user{i}") for i in range(PLAYERS)]
        self.ids: list[str] = []
        self.expected: dict[str, list[tuple[str, str, str]]] = {}  # session -> (party, sender, op_code)
        self.heard: dict[str, list[tuple[str, str, str]]] = {}
        self.seq = 0

    def me(self, i: int) -> Member:
        sink = self.sinks[i]
        return Member(sink.user_id, sink.session_id, sink.username, "nakama")

    def ref(self, k: int):
        return parse_party_id(self.ids[k % len(self.ids)]) if self.ids else None

    def apply(self, kind: str, i: int, *args: object) -> None:
        core, me = self.parties, self.me(i)
        if kind == "create":
            self.ids.append(core.create(me, args[0], args[1], "", False)["party_id"])
            return
        if kind == "disconnect":
            self.eng.manager.disconnect(me.session_id)
            self.drain(self.sinks[i])
            self.sinks[i] = self.eng.connect(f"user{i}")
            return
        ref = self.ref(args[0])
        if ref is None:
            return
        if kind == "join":
            core.join(me, ref)
        elif kind == "leave":
            core.leave(me, ref)
        elif kind in ("accept", "remove", "promote"):
            getattr(core, kind)(me, ref, self.me(args[1]))
        elif kind == "close":
            core.close(me, ref)
        elif kind == "update":
            core.update(me, ref, None, args[1], None)
        elif kind == "data":
            self.seq += 1
            before = core.registry.get(ref.uuid)
            core.send_data(me, ref, self.seq, b"x")  # raises unless a member: nothing expected then
            for m in before.members:
                if m.session_id != me.session_id:
                    self.expected.setdefault(m.session_id, []).append((before.id, me.session_id, str(self.seq)))

    def drain(self, sink) -> None:
        for message in (orjson.loads(m) for m in sink.drain()):
            data = message.get("party_data")
            if data is not None:
                self.heard.setdefault(sink.session_id, []).append((data["party_id"], data["presence"]["session_id"], data["op_code"]))

    def check(self) -> None:
        tracker = self.eng.tracker
        for p in self.parties.registry.parties():
            members = [m.session_id for m in p.members]
            tracked = [x.session_id for x in tracker.list(p.stream)]
            assert len(members) == len(set(members)) and sorted(members) == sorted(tracked)
            assert members, "an empty party is closed"
            assert p.member(p.leader.session_id) is not None, "the leader is always a member"
            assert not p.reserved
            assert len(p.members) <= p.max_size
        for sink in self.sinks:
            self.drain(sink)


@settings(max_examples=200, deadline=None)
@given(st.lists(op, max_size=50))
def test_random_party_operations(ops):
    world = World()
    for kind, i, *args in ops:
        try:
            world.apply(kind, i, *args)
        except ApiError:
            pass  # a refused request changes nothing the checks can see
        world.check()
    assert world.heard == world.expected  # every member heard every party_data once, in order
