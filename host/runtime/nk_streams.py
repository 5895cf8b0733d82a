"""nk stream and session functions: Nakama's argument orders, defaults, returns and texts.

Each function takes the VM's Bridge, then the Lua arguments as received (strings as bytes,
tables as Lua tables). Validation runs on the worker; the engine call runs on the loop
through the worker's outbox, in script order. Where Nakama's behaviour is a bug (stream_close
writing the subcontext into the subject) we do what the script asked.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..streams.errors import InvalidStream, NodeNotFound, SessionClosed, SessionNotFound
from ..streams.node import is_local_session, node_hash
from ..streams.stream import StreamId
from .bridge import Bridge, check_string, check_uuid, opt_bool, opt_string
from .convert import from_lua, lua_type, type_name
from .errors import NkArgError

__all__ = ["FUNCTIONS", "parse_stream"]

_FIELDS = (b"mode", b"subject", b"subcontext", b"label")


def parse_stream(value: Any, argn: int) -> StreamId:
    """The one stream-table parser. Unknown keys are ignored and missing ones are zero, as in
    Nakama; the mode must be a number 0-255 (Nakama truncates it to uint8 unchecked)."""
    if lua_type(value) != "table":
        raise NkArgError(f"table expected, got {type_name(value)}", argn)
    mode, subject, subcontext, label = value[b"mode"], value[b"subject"], value[b"subcontext"], value[b"label"]
    if mode is None:
        mode = 0
    elif isinstance(mode, bool) or not isinstance(mode, (int, float)):
        raise NkArgError("stream mode must be a number", argn)
    elif not 0 <= mode < 256:
        raise NkArgError("stream mode must be a value 0-255", argn)
    ids = []
    for name, raw in (("subject", subject), ("subcontext", subcontext)):
        if raw is None:
            ids.append(None)
            continue
        if not isinstance(raw, bytes):
            raise NkArgError(f"stream {name} must be a string", argn)
        try:
            ids.append(str(uuid.UUID(raw.decode("utf-8"))))
        except (ValueError, UnicodeDecodeError):
            raise NkArgError(f"stream {name} must be a valid identifier", argn) from None
    if label is None:
        label = b""
    elif not isinstance(label, bytes):
        raise NkArgError("stream label must be a string", argn)
    try:
        return StreamId(int(mode), ids[0], ids[1], label.decode("utf-8"))
    except (InvalidStream, UnicodeDecodeError) as exc:
        raise NkArgError(str(exc), argn) from None


def _presence_targets(bridge: Bridge, presences: Any, argn: int) -> list[str] | None:
    """stream_send's presence list: None (whole stream) for nil or an empty/map-like table."""
    if presences is None:
        return None
    if lua_type(presences) != "table":
        raise NkArgError(f"table expected, got {type_name(presences)}", argn)
    n = len(presences)
    if n == 0:
        return None
    node = bridge.services.node
    targets = []
    for i in range(1, n + 1):
        item = presences[i]
        if lua_type(item) != "table":
            raise NkArgError("expects a valid set of presences", argn)
        sid, pnode = item[b"session_id"], item[b"node"]
        if pnode is not None and not isinstance(pnode, bytes):
            raise NkArgError("presence node must be a string", argn)
        if sid is None:
            continue
        if not isinstance(sid, bytes):
            raise NkArgError("presence session id must be a string", argn)
        try:
            sid_text = str(uuid.UUID(sid.decode("utf-8")))
        except (ValueError, UnicodeDecodeError):
            raise NkArgError("presence session id must be a valid identifier", argn) from None
        if pnode is None or pnode.decode("utf-8", "replace") == node:
            targets.append(sid_text)
    return targets


# Membership ------------------------------------------------------------------------------------


def _membership_args(user_id: Any, session_id: Any, stream: Any) -> tuple[str, str, StreamId]:
    return check_uuid(user_id, 1, "user id"), check_uuid(session_id, 2, "session id"), parse_stream(stream, 3)


def _meta_args(hidden: Any, persistence: Any, status: Any) -> tuple[bool, bool, str]:
    return opt_bool(hidden, 4, False), opt_bool(persistence, 5, True), opt_string(status, 6)


def stream_user_join(bridge: Bridge, user_id: Any, session_id: Any, stream: Any, hidden: Any = None, persistence: Any = None, status: Any = None) -> bool:
    uid, sid, sid_stream = _membership_args(user_id, session_id, stream)
    meta = _meta_args(hidden, persistence, status)
    try:
        return bridge.ask("stream_user_join", bridge.streams.user_join, sid_stream, uid, sid, *meta)
    except SessionNotFound:
        raise NkArgError("session id does not exist", 2) from None
    except NodeNotFound:
        raise NkArgError("stream user join failed: node not found") from None
    except SessionClosed:
        raise NkArgError("tracker rejected new presence, session is closing") from None


def stream_user_update(bridge: Bridge, user_id: Any, session_id: Any, stream: Any, hidden: Any = None, persistence: Any = None, status: Any = None) -> tuple[()]:
    uid, sid, sid_stream = _membership_args(user_id, session_id, stream)
    meta = _meta_args(hidden, persistence, status)
    try:
        bridge.ask("stream_user_update", bridge.streams.user_update, sid_stream, uid, sid, *meta)
    except SessionNotFound:
        raise NkArgError("session id does not exist", 2) from None
    except NodeNotFound:
        raise NkArgError("stream user update failed: node not found") from None
    except SessionClosed:
        raise NkArgError("tracker rejected updated presence, session is closing") from None
    return ()


def stream_user_leave(bridge: Bridge, user_id: Any, session_id: Any, stream: Any) -> tuple[()]:
    uid, sid, sid_stream = _membership_args(user_id, session_id, stream)
    if not is_local_session(sid, node_hash(bridge.services.node)):
        raise NkArgError("stream user leave failed: node not found")
    bridge.post("stream_user_leave", bridge.streams.user_leave, sid_stream, uid, sid)
    return ()


def stream_user_kick(bridge: Bridge, presence: Any, stream: Any) -> tuple[()]:
    if presence is None:
        raise NkArgError("expects a valid presence", 1)
    if lua_type(presence) != "table":
        raise NkArgError(f"table expected, got {type_name(presence)}", 1)
    raw_uid, raw_sid, raw_node = presence[b"user_id"], presence[b"session_id"], presence[b"node"]
    if raw_uid is None or raw_sid is None:
        raise NkArgError("expects each presence to have a valid user_id, session_id, and node", 1)
    ids = []
    for raw, name in ((raw_uid, "user_id"), (raw_sid, "session_id")):
        try:
            ids.append(str(uuid.UUID(check_string(raw, 1))))
        except (ValueError, NkArgError):
            raise NkArgError(f"expects each presence to have a valid {name}", 1) from None
    if raw_node is not None and not isinstance(raw_node, bytes):
        raise NkArgError("expects node to be string", 1)
    sid_stream = parse_stream(stream, 2)
    node_ok = raw_node is None or raw_node.decode("utf-8", "replace") == bridge.services.node
    if not node_ok or not is_local_session(ids[1], node_hash(bridge.services.node)):
        raise NkArgError("stream user kick failed: node not found")
    bridge.post("stream_user_kick", bridge.streams.user_kick, sid_stream, ids[0], ids[1])
    return ()


# Queries ---------------------------------------------------------------------------------------


def stream_user_get(bridge: Bridge, user_id: Any, session_id: Any, stream: Any) -> dict[str, Any] | None:
    uid, sid, sid_stream = _membership_args(user_id, session_id, stream)
    meta = bridge.ask("stream_user_get", bridge.streams.get, sid, sid_stream, uid)
    if meta is None:
        return None
    return {"hidden": meta.hidden, "persistence": meta.persistence, "username": meta.username, "status": meta.status}


def stream_user_list(bridge: Bridge, stream: Any, include_hidden: Any = None, include_not_hidden: Any = None) -> list[dict[str, Any]]:
    sid_stream = parse_stream(stream, 1)
    hidden, not_hidden = opt_bool(include_hidden, 2, True), opt_bool(include_not_hidden, 3, True)
    presences = bridge.ask("stream_user_list", bridge.streams.list, sid_stream, hidden, not_hidden)
    return [
        {
            "user_id": p.user_id,
            "session_id": p.session_id,
            "node": p.node,
            "hidden": p.hidden,
            "persistence": p.persistence,
            "username": p.username,
            "status": p.status,
        }
        for p in presences
    ]


def stream_count(bridge: Bridge, stream: Any) -> int:
    return bridge.ask("stream_count", bridge.streams.count, parse_stream(stream, 3))


def stream_close(bridge: Bridge, stream: Any) -> tuple[()]:
    bridge.post("stream_close", bridge.streams.close, parse_stream(stream, 3))
    return ()


# Data ------------------------------------------------------------------------------------------


def stream_send(bridge: Bridge, stream: Any, data: Any, presences: Any = None, reliable: Any = None) -> tuple[()]:
    sid_stream = parse_stream(stream, 3)
    text = check_string(data, 2)
    targets = _presence_targets(bridge, presences, 3)
    bridge.post("stream_send", bridge.streams.send, sid_stream, text, targets, opt_bool(reliable, 4, True))
    return ()


def stream_send_raw(bridge: Bridge, stream: Any, envelope: Any, presences: Any = None, reliable: Any = None) -> tuple[()]:
    sid_stream = parse_stream(stream, 3)
    if lua_type(envelope) != "table":
        raise NkArgError(f"table expected, got {type_name(envelope)}", 2)
    try:
        body = from_lua(envelope)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NkArgError(f"failed to convert envelope: {exc}", 2) from None
    if not isinstance(body, dict):
        raise NkArgError("not a valid envelope: expects an object, got an array", 2)
    targets = _presence_targets(bridge, presences, 3)
    send_raw = bridge.host_op("stream_send_raw", "stream_send_raw")
    try:
        bridge.ask("stream_send_raw", send_raw, sid_stream, body, targets, opt_bool(reliable, 4, True))
    except ValueError as exc:
        raise NkArgError(str(exc), 2) from None
    return ()


def session_disconnect(bridge: Bridge, session_id: Any, reason: Any = None) -> tuple[()]:
    sid = check_uuid(session_id, 1, "session id")
    if reason is None:
        code = 4  # Nakama's default: Disconnect
    elif isinstance(reason, bool) or not isinstance(reason, (int, float)) or reason not in (0, 1, 2, 3, 4):
        raise NkArgError("invalid disconnect reason, must be a value 0-4", 2)
    else:
        code = int(reason)
    bridge.post("session_disconnect", bridge.host_op("session_disconnect", "session_disconnect"), sid, code)
    return ()


FUNCTIONS = {
    "stream_user_join": stream_user_join,
    "stream_user_update": stream_user_update,
    "stream_user_leave": stream_user_leave,
    "stream_user_kick": stream_user_kick,
    "stream_user_get": stream_user_get,
    "stream_user_list": stream_user_list,
    "stream_count": stream_count,
    "stream_close": stream_close,
    "stream_send": stream_send,
    "stream_send_raw": stream_send_raw,
    "session_disconnect": session_disconnect,
}
