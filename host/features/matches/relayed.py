"""Relayed matches (mode 5): the server only tracks members and forwards their data.

A relayed match is its stream ``{5, uuid}``: it exists while someone is on it. Nakama's
rules (features §4) except where they are a bug: ``size`` in a ``match`` reply always
counts every member with the caller (Nakama counts the caller on create-by-name but not on
join). Runs on the event loop.
"""

from __future__ import annotations

import base64
from typing import Any, Protocol

from ...errors import ApiError, Code
from ...streams import SessionClosed, StreamManager
from .ids import MatchId, relayed_uuid

__all__ = ["Member", "create", "join", "send", "match_reply"]


class Member(Protocol):
    """The caller: a realtime session (host.net.socket.WebSocketSession fits)."""

    session_id: str
    user_id: str
    username: str
    vars: dict[str, str]
    expiry: int
    client_ip: str
    client_port: str


def self_presence(member: Member) -> dict[str, Any]:
    out = {"user_id": member.user_id, "session_id": member.session_id}
    if member.username:
        out["username"] = member.username
    return out


def match_reply(match_id: str, member: Member, others: list[dict[str, Any]], label: str | None = None) -> dict[str, Any]:
    """The ``match`` message: ``presences`` are the other members, ``size`` counts all of them."""
    body: dict[str, Any] = {"match_id": match_id}
    if label is not None:
        body["authoritative"] = True
        body["label"] = label
    body["size"] = len(others) + 1
    if others:
        body["presences"] = others
    body["self"] = self_presence(member)
    return body


def _track(streams: StreamManager, match_id: MatchId, member: Member) -> bool | None:
    """True when newly tracked; None when the session is closing (Nakama: no reply)."""
    try:
        return streams.user_join(match_id.stream, member.user_id, member.session_id, hidden=False, persistence=False)
    except SessionClosed:
        return None


def _others(streams: StreamManager, match_id: MatchId, member: Member) -> list[dict[str, Any]]:
    return [
        p.to_wire() for p in streams.list(match_id.stream, include_hidden=False)
        if not (p.session_id == member.session_id and p.user_id == member.user_id)
    ]


def create(streams: StreamManager, member: Member, name: str) -> dict[str, Any] | None:
    """``match_create``: a new match (or the named one, shared by everyone naming it)."""
    match_id = MatchId(relayed_uuid(name), "")
    if _track(streams, match_id, member) is None:
        return None
    return match_reply(match_id.text, member, _others(streams, match_id, member))


def join(streams: StreamManager, member: Member, match_id: MatchId, given: str, *, may_create: bool) -> dict[str, Any] | None:
    """``match_join`` by id (the match must have members) or by token (``may_create``)."""
    if not may_create and not streams.count(match_id.stream):
        raise ApiError(Code.NOT_FOUND, "Match not found")
    if _track(streams, match_id, member) is None:
        return None
    return match_reply(given, member, _others(streams, match_id, member))


def send(
    streams: StreamManager, member: Member, match_id: MatchId, given: str, op_code: int, data: bytes | None,
    targets: list[str] | None, reliable: bool,
) -> None:
    """``match_data_send``: to every other member, or to the listed sessions that are members
    (the sender only if listed); dropped silently when the sender is not a member."""
    recipients = list(streams.tracker.recipients(match_id.stream))
    if member.session_id not in recipients:
        return
    if targets is None:
        recipients.remove(member.session_id)
    else:
        wanted = set(targets)
        recipients = [sid for sid in recipients if sid in wanted]
    if not recipients:
        return
    body: dict[str, Any] = {"match_id": given, "presence": self_presence(member)}
    if op_code:
        body["op_code"] = str(op_code)
    if data:
        body["data"] = base64.b64encode(data).decode()
    if reliable:
        body["reliable"] = True
    streams.router.send_to_sessions(recipients, {"match_data": body}, reliable)
