"""Relayed matches (mode 5): the server only tracks members and forwards their data.

A relayed match is its stream ``{5, uuid}``: it exists while someone is on it. Nakama's
rules (features §4) except where they are a bug: ``size`` in a ``match`` reply always
counts every member with the caller (``wire.match_reply``). Runs on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import ApiError, Code
from ...streams import SessionClosed, StreamManager
from .ids import MatchId, relayed_uuid
from .wire import Member, match_data, match_reply, self_presence

__all__ = ["Answer", "create", "join", "others", "send", "track"]


Answer = Callable[[dict[str, Any]], None]


def track(streams: StreamManager, match_id: MatchId, member: Member, given: str, answer: Answer, label: str | None = None) -> bool:
    """Put the member on the match's stream and ``answer`` its ``match`` reply before the
    presence events go out, so the joiner reads the reply first (Nakama writes it before the
    tracker's events are delivered). False when the session is closing (Nakama: no reply)."""
    def reply() -> None:
        answer(match_reply(given, member, others(streams, match_id, member), label))
    try:
        streams.user_join(match_id.stream, member.user_id, member.session_id, hidden=False, persistence=False, before_events=reply)
    except SessionClosed:
        return False
    return True


def others(streams: StreamManager, match_id: MatchId, member: Member) -> list[dict[str, Any]]:
    """The other members on the match's stream, as a ``match`` reply lists them (either kind:
    the stream, not a match's own list, holds who has joined by the time the reply is written)."""
    return [
        p.to_wire() for p in streams.list(match_id.stream, include_hidden=False)
        if not (p.session_id == member.session_id and p.user_id == member.user_id)
    ]


def create(streams: StreamManager, member: Member, name: str, answer: Answer) -> bool:
    """``match_create``: a new match (or the named one, shared by everyone naming it)."""
    match_id = MatchId(relayed_uuid(name), "")
    return track(streams, match_id, member, match_id.text, answer)


def join(streams: StreamManager, member: Member, match_id: MatchId, given: str, answer: Answer, *, may_create: bool) -> bool:
    """``match_join`` by id (the match must have members) or by token (``may_create``)."""
    if not may_create and not streams.count(match_id.stream):
        raise ApiError(Code.NOT_FOUND, "Match not found")
    return track(streams, match_id, member, given, answer)


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
    streams.router.send_to_sessions(recipients, match_data(given, self_presence(member), op_code, data, reliable), reliable)
