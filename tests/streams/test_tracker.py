"""The memory tracker: indexes, no-op rules, queries, closing sessions."""

from __future__ import annotations

import pytest

from host.streams import MemoryTracker, PresenceMeta, PresenceReason, SessionClosed, StreamId

S1, S2 = StreamId(20, label="a"), StreamId(21, label="b")
VISIBLE = PresenceMeta(username="alice", status="x")
HIDDEN = PresenceMeta(hidden=True, username="alice")


@pytest.fixture
def tracker():
    t = MemoryTracker("node1")
    for sid in ("s1", "s2", "s3"):
        t.open_session(sid)
    return t


def test_track_returns_new_then_not_new_and_keeps_old_meta(tracker):
    assert tracker.track("s1", S1, "u1", VISIBLE)[0] is True
    is_new, events = tracker.track("s1", S1, "u1", PresenceMeta(hidden=True, username="other"))
    assert is_new is False and events == []
    meta = tracker.get("s1", S1, "u1")
    assert meta == PresenceMeta(False, False, "alice", "x", PresenceReason.JOIN)
    assert tracker.count(S1) == 1


def test_same_session_other_user_is_another_presence(tracker):
    tracker.track("s1", S1, "u1", VISIBLE)
    assert tracker.track("s1", S1, "u2", VISIBLE)[0] is True
    assert tracker.count(S1) == 2


def test_update_is_an_upsert(tracker):
    tracker.update("s1", S1, "u1", PresenceMeta(status="new"))
    assert tracker.count(S1) == 1
    assert tracker.get("s1", S1, "u1").status == "new"
    assert tracker.get("s1", S1, "u1").reason == PresenceReason.UPDATE
    tracker.update("s1", S1, "u1", PresenceMeta(status="newer"))
    assert tracker.count(S1) == 1 and tracker.get("s1", S1, "u1").status == "newer"


def test_untrack_absent_is_a_noop(tracker):
    assert tracker.untrack("s1", S1, "u1") == []
    tracker.track("s1", S1, "u1", VISIBLE)
    assert tracker.untrack("s1", S1, "nobody") == []
    assert tracker.count(S1) == 1


def test_the_memory_tracker_implements_the_tracker_interface(tracker):
    from host.streams import Tracker

    assert isinstance(tracker, Tracker)


def test_a_removed_presence_carries_its_leave_reason(tracker):
    tracker.track("s1", S1, "u1", VISIBLE)
    (event,) = tracker.untrack("s1", S1, "u1")
    assert event.leaves[0].reason == PresenceReason.LEAVE
    tracker.track("s1", S1, "u1", VISIBLE)
    (event,) = tracker.close_session("s1")
    assert event.leaves[0].reason == PresenceReason.DISCONNECT


def test_untrack_removes_from_both_indexes(tracker):
    tracker.track("s1", S1, "u1", VISIBLE)
    tracker.untrack("s1", S1, "u1")
    assert tracker.count(S1) == 0 and tracker.streams_of("s1") == [] and tracker.total() == 0
    assert tracker.streams() == [] and tracker.sessions() == []


def test_untrack_all_removes_every_presence_of_the_session(tracker):
    tracker.track("s1", S1, "u1", VISIBLE)
    tracker.track("s1", S2, "u1", HIDDEN)
    tracker.track("s2", S1, "u2", VISIBLE)
    events = tracker.untrack_all("s1", PresenceReason.DISCONNECT)
    assert [e.stream for e in events] == [S1]  # the hidden leave on S2 makes no event
    assert events[0].leaves[0].reason == PresenceReason.DISCONNECT
    assert tracker.streams_of("s1") == [] and tracker.count(S2) == 0 and tracker.count(S1) == 1


def test_close_stream_removes_everyone_without_events(tracker):
    tracker.track("s1", S1, "u1", VISIBLE)
    tracker.track("s2", S1, "u2", HIDDEN)
    tracker.track("s2", S2, "u2", VISIBLE)
    assert tracker.close_stream(S1) == 2
    assert tracker.count(S1) == 0 and tracker.streams_of("s1") == [] and tracker.streams_of("s2") == [S2]
    assert tracker.close_stream(S1) == 0


def test_count_includes_hidden_and_list_filters(tracker):
    tracker.track("s1", S1, "u1", VISIBLE)
    tracker.track("s2", S1, "u2", HIDDEN)
    assert tracker.count(S1) == 2
    assert {p.user_id for p in tracker.list(S1)} == {"u1", "u2"}
    assert [p.user_id for p in tracker.list(S1, include_hidden=False)] == ["u1"]
    assert [p.user_id for p in tracker.list(S1, include_not_hidden=False)] == ["u2"]
    assert tracker.list(S1, include_hidden=False, include_not_hidden=False) == []
    assert tracker.list(S2) == [] and tracker.count(S2) == 0


def test_get_returns_metadata_or_none(tracker):
    assert tracker.get("s1", S1, "u1") is None
    tracker.track("s1", S1, "u1", HIDDEN)
    assert tracker.get("s1", S1, "u1").hidden is True
    assert tracker.get("s1", S1, "u2") is None


def test_streams_of_a_session(tracker):
    tracker.track("s1", S1, "u1", VISIBLE)
    tracker.track("s1", S2, "u1", VISIBLE)
    tracker.track("s1", S2, "u9", VISIBLE)
    assert sorted(tracker.streams_of("s1")) == sorted([S1, S2])


def test_presence_carries_node_and_stream(tracker):
    tracker.track("s1", S1, "u1", VISIBLE)
    (p,) = tracker.list(S1)
    assert (p.node, p.stream, p.session_id, p.user_id, p.username) == ("node1", S1, "s1", "u1", "alice")


def test_unknown_or_closing_session_cannot_be_tracked(tracker):
    with pytest.raises(SessionClosed):
        tracker.track("never-opened", S1, "u1", VISIBLE)
    tracker.track("s1", S1, "u1", VISIBLE)
    tracker.close_session("s1")
    with pytest.raises(SessionClosed):
        tracker.track("s1", S2, "u1", VISIBLE)
    with pytest.raises(SessionClosed):
        tracker.update("s1", S2, "u1", VISIBLE)
    assert tracker.streams_of("s1") == [] and tracker.total() == 0
