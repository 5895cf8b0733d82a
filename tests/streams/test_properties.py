"""Random operation sequences: indexes agree, counts match lists, events replay to membership."""

from __future__ import annotations

from collections import Counter

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from host.streams import StreamId

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


def visible(eng, stream: StreamId) -> Counter:
    return Counter((p.session_id, p.user_id) for p in eng.manager.list(stream, include_hidden=False))


def members(eng) -> set[tuple[str, StreamId]]:
    return {(sid, s) for sid in eng.tracker.sessions() for s in eng.tracker.streams_of(sid)}


@settings(max_examples=150, deadline=None)
@given(st.lists(op, max_size=60))
def test_random_operations_keep_the_engine_consistent(ops):
    """Every recipient, starting from the visible list when it became a member (as a client
    starts from a listing), replays the events it heard to exactly the visible membership."""
    eng = make_engine()
    sessions = [eng.connect(f"owner{i}") for i in range(N_SESSIONS)]
    views: dict[tuple[str, StreamId], Counter] = {}
    for kind, i, stream, user, hidden in ops:
        before = {s: visible(eng, s) for s in STREAMS}
        was = members(eng)
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
        now = members(eng)
        for key in now - was:
            views[key] = Counter(before[key[1]])
        for key in was - now:
            del views[key]
        for sink in sessions:
            for raw in sink.drain():
                body = next(iter(orjson.loads(raw).values()))
                label = body["stream"]["label"] if "stream" in body else body["room_name"]
                target = next(s for s in STREAMS if s.label == label)
                view = views[(sink.session_id, target)]  # only members hear events
                for p in body.get("leaves", []):
                    view[(p["session_id"], p["user_id"])] -= 1
                for p in body.get("joins", []):
                    view[(p["session_id"], p["user_id"])] += 1
        check_indexes(eng.tracker)
        for (session_id, s), view in views.items():
            assert all(v >= 0 for v in view.values())
            assert +view == visible(eng, s), (session_id, s)
