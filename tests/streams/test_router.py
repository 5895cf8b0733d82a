"""The router: encode once, every member, chosen sessions, overflow of one sink only."""

from __future__ import annotations

import orjson

from host.streams import MemorySink, StreamData, StreamId

from .helpers import make_engine

ROOM = StreamId(20, label="room")


def test_one_send_is_encoded_once_and_the_same_bytes_reach_every_sink():
    eng = make_engine()
    sinks = [eng.connect(f"u{i}") for i in range(50)]
    for s in sinks:
        eng.manager.user_join(ROOM, s.user_id, s.session_id, hidden=True)
    before = eng.encodes
    assert eng.manager.send(ROOM, "payload") == 50
    assert eng.encodes == before + 1
    first = sinks[0].messages[-1]
    assert all(s.messages[-1] is first for s in sinks)


def test_send_reaches_hidden_members_and_the_senders_own_session():
    eng = make_engine()
    a, h = eng.connect("ua"), eng.connect("uh")
    eng.manager.user_join(ROOM, "ua", a.session_id)
    eng.manager.user_join(ROOM, "uh", h.session_id, hidden=True)
    eng.received(a), eng.received(h)
    eng.manager.send(ROOM, "hi")
    expected = {"stream_data": {"stream": {"mode": 20, "label": "room"}, "data": "hi", "reliable": True}}
    assert eng.received(a) == [expected] and eng.received(h) == [expected]


def test_send_to_chosen_sessions_skips_the_membership_check():
    eng = make_engine()
    a, outsider = eng.connect("ua"), eng.connect("uo")
    eng.manager.user_join(ROOM, "ua", a.session_id)
    eng.received(a)
    assert eng.manager.send(ROOM, "psst", [outsider.session_id, "unknown-session"], reliable=False) == 1
    assert eng.received(a) == []
    assert eng.received(outsider) == [{"stream_data": {"stream": {"mode": 20, "label": "room"}, "data": "psst"}}]


def test_nobody_to_deliver_to_means_no_encoding():
    eng = make_engine()
    before = eng.encodes
    assert eng.manager.send(ROOM, "void") == 0
    assert eng.encodes == before


def test_overflow_is_reported_by_that_sink_only_and_others_get_everything():
    eng = make_engine()
    overflowed: list[str] = []
    slow = eng.connect("slow", max_bytes=300)
    slow.on_overflow = lambda sink: overflowed.append(sink.session_id)
    fast = [eng.connect(f"f{i}") for i in range(5)]
    for s in [slow, *fast]:
        eng.manager.user_join(ROOM, s.user_id, s.session_id, hidden=True)
    got: dict[str, list[bytes]] = {s.session_id: [] for s in fast}
    for i in range(20):
        eng.manager.send(ROOM, f"message {i}")
        for s in fast:
            got[s.session_id] += s.drain()  # healthy clients read
    assert overflowed == [slow.session_id]
    for messages in got.values():
        assert [orjson.loads(m)["stream_data"]["data"] for m in messages] == [f"message {i}" for i in range(20)]
    assert slow.overflowed and not any(s.overflowed for s in fast)
    assert slow.send(b"more") is False


def test_unreliable_messages_are_dropped_only_while_paused():
    sink = MemorySink("s")
    sink.paused = True
    assert sink.send(b"x", reliable=False) is False
    assert sink.send(b"y", reliable=True) is True
    sink.paused = False
    assert sink.send(b"z", reliable=False) is True
    assert sink.messages == [b"y", b"z"]


def test_raw_bytes_go_to_chosen_sessions():
    eng = make_engine()
    a = eng.connect("ua")
    assert eng.router.send_bytes([a.session_id, "nope"], b'{"x":1}') == 1
    assert a.messages == [b'{"x":1}']


def test_a_recipient_closing_during_fan_out_does_not_disturb_the_loop():
    eng = make_engine()
    sinks = [eng.connect(f"u{i}", max_bytes=150) for i in range(10)]
    for s in sinks:
        eng.manager.user_join(ROOM, s.user_id, s.session_id, hidden=True)
    sinks[3].on_overflow = lambda sink: eng.manager.disconnect(sink.session_id)
    sinks[3].send(b"x" * 140)
    assert eng.router.send_to_stream(ROOM, StreamData(ROOM, "hello")) == 9
    assert eng.manager.count(ROOM) == 9


def test_a_session_with_two_user_ids_on_a_stream_hears_each_message_once():
    eng = make_engine()
    a = eng.connect("ua")
    eng.manager.user_join(ROOM, "ua", a.session_id)
    eng.manager.user_join(ROOM, "ua2", a.session_id)
    eng.received(a)
    assert eng.manager.send(ROOM, "once") == 1
    assert len(eng.received(a)) == 1
