"""Router.listen: a mode's presence events reach its listener before the members."""

from __future__ import annotations

from host.streams import StreamId

from .helpers import make_engine

PARTY = StreamId(7, "b7e8a1c2-63f4-4a7c-9d2e-3f1a2b3c4d5e", None, "nakama")
OTHER = StreamId(20, label="x")


def test_listeners_hear_their_mode_first_and_may_send():
    eng = make_engine()
    a, b = eng.connect("a"), eng.connect("b")
    heard = []

    def listener(event):
        heard.append(([p.session_id for p in event.joins], [p.session_id for p in event.leaves]))
        eng.router.send_to_sessions([a.session_id], {"note": len(heard)})

    eng.router.listen(7, listener)
    eng.manager.user_join(PARTY, "a", a.session_id)
    eng.manager.user_join(OTHER, "a", a.session_id)  # another mode: not heard
    eng.manager.user_join(PARTY, "b", b.session_id)
    eng.manager.disconnect(b.session_id)  # a disconnect is a leave like any other
    assert heard == [([a.session_id], []), ([b.session_id], []), ([], [b.session_id])]
    kinds = [next(iter(m)) for m in eng.received(a)]
    assert kinds == ["note", "party_presence_event", "stream_presence_event", "note", "party_presence_event", "note", "party_presence_event"]


def test_closing_a_stream_tells_no_listener():
    eng = make_engine()
    a = eng.connect("a")
    heard = []
    eng.router.listen(7, heard.append)
    eng.manager.user_join(PARTY, "a", a.session_id)
    eng.manager.close(PARTY)
    assert len(heard) == 1
