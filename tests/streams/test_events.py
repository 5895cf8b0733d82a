"""Presence events through the manager: Nakama's recipient rules, delivered in order."""

from __future__ import annotations

from host.streams import StreamId

from .helpers import make_engine

ROOM = StreamId(20, label="room")
OTHER = StreamId(21, label="other")


def ids(presences):
    return sorted(p["user_id"] for p in presences)


def events_of(envelopes):
    return [e["stream_presence_event"] for e in envelopes if "stream_presence_event" in e]


def test_join_goes_to_every_member_including_the_joiner():
    eng = make_engine()
    a, b = eng.connect("ua"), eng.connect("ub")
    eng.manager.user_join(ROOM, "ua", a.session_id)
    (ev,) = events_of(eng.received(a))
    assert ids(ev["joins"]) == ["ua"] and "leaves" not in ev
    assert ev["stream"] == {"mode": 20, "label": "room"}
    eng.manager.user_join(ROOM, "ub", b.session_id)
    assert ids(events_of(eng.received(a))[0]["joins"]) == ["ub"]
    assert ids(events_of(eng.received(b))[0]["joins"]) == ["ub"]


def test_a_second_join_sends_nothing():
    eng = make_engine()
    a = eng.connect("ua")
    assert eng.manager.user_join(ROOM, "ua", a.session_id) is True
    eng.received(a)
    assert eng.manager.user_join(ROOM, "ua", a.session_id, hidden=True) is False
    assert eng.received(a) == []


def test_leave_goes_to_remaining_members_not_the_leaver():
    eng = make_engine()
    a, b = eng.connect("ua"), eng.connect("ub")
    eng.manager.user_join(ROOM, "ua", a.session_id)
    eng.manager.user_join(ROOM, "ub", b.session_id)
    eng.received(a), eng.received(b)
    eng.manager.user_leave(ROOM, "ub", b.session_id)
    assert eng.received(b) == []
    (ev,) = events_of(eng.received(a))
    assert ids(ev["leaves"]) == ["ub"] and "joins" not in ev


def test_kick_is_a_leave_event():
    eng = make_engine()
    a, b = eng.connect("ua"), eng.connect("ub")
    eng.manager.user_join(ROOM, "ua", a.session_id)
    eng.manager.user_join(ROOM, "ub", b.session_id)
    eng.received(a)
    eng.manager.user_kick(ROOM, "ub", b.session_id)
    assert ids(events_of(eng.received(a))[0]["leaves"]) == ["ub"]
    assert eng.tracker.get(b.session_id, ROOM, "ub") is None


def test_hidden_presences_never_appear_in_events_but_receive_them():
    eng = make_engine()
    a, h = eng.connect("ua"), eng.connect("uh")
    eng.manager.user_join(ROOM, "uh", h.session_id, hidden=True)
    assert eng.received(h) == []  # its own hidden join makes no event
    eng.manager.user_join(ROOM, "ua", a.session_id)
    assert ids(events_of(eng.received(h))[0]["joins"]) == ["ua"]
    eng.received(a)
    eng.manager.user_leave(ROOM, "uh", h.session_id)
    assert eng.received(a) == []


def test_update_sends_one_event_with_new_join_and_old_leave():
    eng = make_engine()
    a, b = eng.connect("ua"), eng.connect("ub")
    eng.manager.user_join(ROOM, "ua", a.session_id)
    eng.manager.user_join(ROOM, "ub", b.session_id, persistence=False)
    eng.received(a)
    eng.manager.user_update(ROOM, "ub", b.session_id, persistence=True)
    (ev,) = events_of(eng.received(a))
    assert ids(ev["joins"]) == ["ub"] and ids(ev["leaves"]) == ["ub"]
    assert ev["joins"][0]["persistence"] is True and "persistence" not in ev["leaves"][0]


def test_update_visible_to_hidden_is_a_leave_only_and_back_is_a_join_only():
    eng = make_engine()
    a, b = eng.connect("ua"), eng.connect("ub")
    eng.manager.user_join(ROOM, "ua", a.session_id)
    eng.manager.user_join(ROOM, "ub", b.session_id)
    eng.received(a)
    eng.manager.user_update(ROOM, "ub", b.session_id, hidden=True)
    (ev,) = events_of(eng.received(a))
    assert ids(ev["leaves"]) == ["ub"] and "joins" not in ev
    eng.manager.user_update(ROOM, "ub", b.session_id, hidden=True, status="still hidden")
    assert eng.received(a) == []  # hidden -> hidden: nothing
    eng.manager.user_update(ROOM, "ub", b.session_id, hidden=False)
    (ev,) = events_of(eng.received(a))
    assert ids(ev["joins"]) == ["ub"] and "leaves" not in ev


def test_disconnect_sends_one_event_per_stream_with_all_its_leaves():
    eng = make_engine()
    a, b = eng.connect("ua"), eng.connect("ub")
    eng.manager.user_join(ROOM, "ua", a.session_id)
    eng.manager.user_join(OTHER, "ua", a.session_id)
    eng.manager.user_join(ROOM, "ub", b.session_id)
    eng.manager.user_join(ROOM, "ub2", b.session_id)  # same session, second user id
    eng.manager.user_join(OTHER, "ub", b.session_id)
    eng.received(a)
    eng.manager.disconnect(b.session_id)
    evs = events_of(eng.received(a))
    assert len(evs) == 2
    by_stream = {e["stream"]["label"]: ids(e["leaves"]) for e in evs}
    assert by_stream == {"room": ["ub", "ub2"], "other": ["ub"]}
    assert eng.tracker.streams_of(b.session_id) == []


def test_stream_close_sends_nothing():
    eng = make_engine()
    a, b = eng.connect("ua"), eng.connect("ub")
    eng.manager.user_join(ROOM, "ua", a.session_id)
    eng.manager.user_join(ROOM, "ub", b.session_id)
    eng.received(a), eng.received(b)
    assert eng.manager.close(ROOM) == 2
    assert eng.received(a) == [] and eng.received(b) == []
    assert eng.manager.count(ROOM) == 0


def test_status_is_only_sent_on_status_streams():
    eng = make_engine()
    a = eng.connect("ua")
    eng.manager.user_join(ROOM, "ua", a.session_id, status="busy")
    assert "status" not in events_of(eng.received(a))[0]["joins"][0]
    status = StreamId(1, "6f1d9a4e-2c1b-4b8e-9a55-0c5f0a3c9d11")
    eng.manager.user_join(status, "ua", a.session_id, status="busy")
    (env,) = eng.received(a)
    assert env["status_presence_event"]["joins"][0]["status"] == "busy"


def test_each_recipient_sees_data_and_events_in_operation_order():
    eng = make_engine()
    a, b = eng.connect("ua"), eng.connect("ub")
    eng.manager.user_join(ROOM, "ua", a.session_id)
    eng.manager.send(ROOM, "one")
    eng.manager.user_join(ROOM, "ub", b.session_id)
    eng.manager.send(ROOM, "two")
    eng.manager.user_leave(ROOM, "ub", b.session_id)
    eng.manager.send(ROOM, "three")
    kinds = []
    for env in eng.received(a):
        if "stream_data" in env:
            kinds.append(env["stream_data"]["data"])
        else:
            ev = env["stream_presence_event"]
            kinds.append(("join " if "joins" in ev else "leave ") + ev.get("joins", ev.get("leaves"))[0]["user_id"])
    assert kinds == ["join ua", "one", "join ub", "two", "leave ub", "three"]
