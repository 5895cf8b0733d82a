"""The stream manager's Nakama policy: node hash, session existence, usernames."""

from __future__ import annotations

import uuid

import pytest

from host.streams import NodeNotFound, SessionClosed, SessionNotFound, StreamId, is_local_session, new_session_id, node_hash

from .helpers import NODE, make_engine

ROOM = StreamId(20, label="room")


def test_session_ids_carry_the_node_hash():
    sid = new_session_id(NODE)
    assert uuid.UUID(sid).version == 1
    assert uuid.UUID(sid).bytes[10:16] == node_hash(NODE)
    assert is_local_session(sid, node_hash(NODE))
    assert not is_local_session(new_session_id("other-node"), node_hash(NODE))
    assert not is_local_session("garbage", node_hash(NODE))


def test_a_random_v4_session_id_is_node_not_found():
    eng = make_engine()
    with pytest.raises(NodeNotFound, match="node not found"):
        eng.manager.user_join(ROOM, "u", str(uuid.uuid4()))
    with pytest.raises(NodeNotFound):
        eng.manager.user_leave(ROOM, "u", str(uuid.uuid4()))


def test_a_local_but_unknown_session_is_session_not_found():
    eng = make_engine()
    with pytest.raises(SessionNotFound, match="session not found"):
        eng.manager.user_join(ROOM, "u", new_session_id(NODE))
    with pytest.raises(SessionNotFound):
        eng.manager.user_update(ROOM, "u", new_session_id(NODE))
    eng.manager.user_leave(ROOM, "u", new_session_id(NODE))  # leave only checks the node


def test_username_comes_from_the_session_not_the_caller():
    eng = make_engine()
    a = eng.connect("ua", username="Alice")
    eng.manager.user_join(ROOM, "any-user-id", a.session_id, status="s")
    assert eng.manager.get(a.session_id, ROOM, "any-user-id").username == "Alice"
    assert eng.manager.list(ROOM)[0].username == "Alice"


def test_join_defaults_match_nakama():
    eng = make_engine()
    a = eng.connect("ua")
    eng.manager.user_join(ROOM, "ua", a.session_id)
    meta = eng.manager.get(a.session_id, ROOM, "ua")
    assert (meta.hidden, meta.persistence, meta.status) == (False, True, "")


def test_a_disconnected_session_is_gone_from_every_stream_and_cannot_rejoin():
    eng = make_engine()
    a = eng.connect("ua")
    eng.manager.user_join(ROOM, "ua", a.session_id)
    eng.manager.disconnect(a.session_id)
    assert eng.manager.count(ROOM) == 0
    with pytest.raises(SessionNotFound):
        eng.manager.user_join(ROOM, "ua", a.session_id)
    # Directly on the tracker the closed session is refused too.
    with pytest.raises(SessionClosed):
        from host.streams import PresenceMeta

        eng.tracker.track(a.session_id, ROOM, "ua", PresenceMeta())
