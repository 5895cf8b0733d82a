"""The match messages' wire shapes (rtapi.Match, rtapi.MatchData), with Nakama's omit-zero rules."""

from __future__ import annotations

import base64
from typing import Any, Protocol

__all__ = ["Member", "self_presence", "match_reply", "match_data"]


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
    """The ``match`` message: ``presences`` are the other members and ``size`` counts all of
    them with the caller (Nakama counts the caller on create-by-name only)."""
    body: dict[str, Any] = {"match_id": match_id}
    if label is not None:
        body["authoritative"] = True
        body["label"] = label
    body["size"] = len(others) + 1
    if others:
        body["presences"] = others
    body["self"] = self_presence(member)
    return body


def match_data(match_id: str, sender: dict[str, Any] | None, op_code: int, data: bytes | None, reliable: bool) -> dict[str, Any]:
    """The ``match_data`` envelope: op_code as an int64 string, data as base64, zero values omitted."""
    body: dict[str, Any] = {"match_id": match_id}
    if sender is not None:
        body["presence"] = sender
    if op_code:
        body["op_code"] = str(op_code)
    if data:
        body["data"] = base64.b64encode(data).decode()
    if reliable:
        body["reliable"] = True
    return {"match_data": body}
