"""Random operation sequences: indexes agree, counts match lists, events replay to membership."""

from __future__ import annotations

from collections import Counter

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from host.streams import PresenceMeta, StreamId

from .helpers import make_engine

STREAMS = [StreamId(20, label="a"), StreamId(21, label="b"), StreamId(2, label="c")]
USERS = ["u1", "u2"]
N_SESSIONS = 4

op = st.one_of(
    st.tuples(st.just("track"), st.integers(0, N_SESSIONS - 1), st.sampled_from(STREAMS), st.sampled_from(USERS), st.booleans()),
    st.tuples(st.just("update"), st.integers(0, N_SESSIONS - 1), st.sampled_from(STREAMS), st.sampled_from(USERS), st.booleans()),
    st.tuples(st.just("untrack"), st.integers(0, N_SESSIONS - 1), st.sampled_from(STREAMS), st.sampled_from(USERS), st.just(False)),
    st.tuples(st.just("untrack_all"), st.integers(0, N_SESSIONS - 1), st.just(None), st.just(None), st.just(False)),
    st.tuples(st.just("close"), st.just(0), st.sampled_from(STREAMS), st.just(None), st.just(False)),
)


def visible_key(p: dict) -> tuple[str, str]:
    return (p["session_id"], p["user_id"])


def check_indexes(tracker) -> None:
    by_stream = {(s, p.session_id, p.user_id) for s in tracker.streams() for p in tracker.list(s)}
    by_session = {(s, sid, p.user_id) for sid in tracker.sessions() for s in tracker.streams_of(sid) for p in tracker.list(s) if p.session_id == sid}
    assert by_stream == by_session
    for s in tracker.streams():
        assert tracker.count(s) == len(tracker.list(s)) > 0
        hidden = tracker.list(s, include_not_hidden=False)
        shown = tracker.list(s, include_hidden=False)
        assert len(hidden) + len(shown) == tracker.count(s)
        assert all(p.stream == s for p in tracker.list(s))
    assert tracker.total() == sum(tracker.count(s) for s in tracker.streams())


@settings(max_examples=150, deadline=None)
@given(st.lists(op, max_size=60))
def test_random_operations_keep_the_engine_consistent(ops):
    eng = make_engine()
    sessions = [eng.connect(f"owner{i}") for i in range(N_SESSIONS)]
    # An observer on every stream, hidden: it hears every event and appears in none.
    observer = eng.connect("observer")
    views: dict[StreamId, Counter] = {}

    def observe(stream: StreamId) -> None:
        eng.manager.user_join(stream, "observer", observer.session_id, hidden=True)
        views[stream] = Counter(visible_key(p.to_wire()) for p in eng.manager.list(stream, include_hidden=False))

    for s in STREAMS:
        observe(s)

    for kind, i, stream, user, hidden in ops:
        sid = sessions[i].session_id
        if kind == "track":
            eng.manager.user_join(stream, user, sid, hidden=hidden)
        elif kind == "update":
            eng.manager.user_update(stream, user, sid, hidden=hidden)
        elif kind == "untrack":
            eng.manager.user_leave(stream, user, sid)
        elif kind == "untrack_all":
            eng.manager.disconnect(sid)
            sessions[i] = eng.connect(f"owner{i}")
        else:
            eng.manager.close(stream)
        # Replay what the observer heard: it must equal the visible membership.
        for raw in observer.drain():
            env = orjson.loads(raw)
            body = next(iter(env.values()))
            label = body["stream"]["label"] if "stream" in body else body.get("room_name")
            target = next(s for s in STREAMS if s.label == label)
            for p in body.get("leaves", []):
                views[target][visible_key(p)] -= 1
            for p in body.get("joins", []):
                views[target][visible_key(p)] += 1
        if kind == "close":
            observe(stream)
        check_indexes(eng.tracker)
        for s in STREAMS:
            expected = Counter(visible_key(p.to_wire()) for p in eng.manager.list(s, include_hidden=False))
            assert +views[s] == expected, s
            assert all(v >= 0 for v in views[s].values())
        # Every other recipient only ever hears about streams it is on.
        for sink in sessions:
            for raw in sink.drain():
                env = orjson.loads(raw)
                assert set(env) <= {"stream_presence_event", "channel_presence_event"}
