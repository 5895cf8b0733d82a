"""Realtime doors: ``match_create``, ``match_join``, ``match_leave``, ``match_data_send``.

Each reads its message the way Nakama's pipeline_match.go does, calls the core and answers
with Nakama's envelopes and error codes (features §4, §5.3); realtime before/after hooks
(``MatchCreate``, ``MatchJoin``, ``MatchLeave``, ``MatchDataSend``) come from the pipeline.
Differences: a bad ``match_data_send`` (match id, op code, base64 data) answers with the
request's cid when it has one (Nakama never sends the cid there), a bad op code or bad data
gets an error instead of closing the socket, and an authoritative match's full input queue
tells the sender its message was dropped.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from typing import TYPE_CHECKING, Any

from ...errors import ApiError, Code
from ...net.errors import CloseCode, ErrorCode
from ...net.pipeline import SocketDoor, ack, reply_api_error, reply_error
from ...net.tokens import decode_jwt
from .core import Matches
from .ids import MatchId, parse_match_id

if TYPE_CHECKING:
    from ...net.socket import WebSocketSession

__all__ = ["DOORS"]

NAME = "matches"
Result = tuple[bool, "dict[str, Any] | None"]

_REALTIME_CODE = {
    Code.NOT_FOUND: ErrorCode.MATCH_NOT_FOUND,
    Code.PERMISSION_DENIED: ErrorCode.MATCH_JOIN_REJECTED,
    Code.RESOURCE_EXHAUSTED: ErrorCode.MATCH_JOIN_REJECTED,
}
_INT64 = 1 << 63


def _core(services: Any) -> Matches:
    return services.features[NAME]


def _reply(session: WebSocketSession, cid: str, body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"cid": cid, "match": body} if cid else {"match": body}
    session.send_envelope(out)
    return out


def _fail(session: WebSocketSession, cid: str, code: int, message: str) -> Result:
    reply_error(session, cid, code, message)
    return False, None


class _Answer:
    """Writes the ``match`` reply when the core calls it (before the join's presence events
    and match_join's broadcasts) and keeps the envelope for the after hook."""

    __slots__ = ("session", "cid", "sent")

    def __init__(self, session: WebSocketSession, cid: str) -> None:
        self.session, self.cid, self.sent = session, cid, None

    def __call__(self, body: dict[str, Any]) -> None:
        self.sent = _reply(self.session, self.cid, body)

    def result(self, ok: bool) -> Result:
        return (True, self.sent) if ok and self.sent is not None else (False, None)


async def match_create(services: Any, session: WebSocketSession, cid: str, body: dict[str, Any]) -> Result:
    answer = _Answer(session, cid)
    # False: the session is closing: no reply, as Nakama
    return answer.result(_core(services).create_relayed(session, body.get("name", ""), answer))


def _token_match(services: Any, token: str) -> MatchId | None:
    claims = decode_jwt(token, services.config.session.encryption_key, time.time())
    mid = claims.get("mid") if claims is not None else None
    return parse_match_id(mid) if isinstance(mid, str) else None


async def match_join(services: Any, session: WebSocketSession, cid: str, body: dict[str, Any]) -> Result:
    metadata = body.get("metadata") or {}
    if not all(isinstance(v, str) for v in metadata.values()):
        session.close(CloseCode.NORMAL, "received malformed payload")  # protojson: map<string,string>
        return False, None
    by_token = "match_id" not in body and "token" in body
    if "match_id" in body:
        given = body["match_id"]
        match_id = parse_match_id(given)
        if match_id is None:
            return _fail(session, cid, ErrorCode.BAD_INPUT, "Invalid match ID")
    elif by_token:
        match_id = _token_match(services, body["token"])
        if match_id is None:
            return _fail(session, cid, ErrorCode.BAD_INPUT, "Invalid match token")
        given = match_id.text
    else:
        return _fail(session, cid, ErrorCode.BAD_INPUT, "No match ID or token found")
    answer = _Answer(session, cid)
    try:
        joined = await _core(services).join(session, match_id, given, metadata, answer, by_token=by_token)
    except ApiError as exc:
        reply_api_error(session, cid, exc, _REALTIME_CODE)
        return False, None
    return answer.result(joined)


async def match_leave(services: Any, session: WebSocketSession, cid: str, body: dict[str, Any]) -> Result:
    match_id = parse_match_id(body.get("match_id", ""))
    if match_id is None:
        return _fail(session, cid, ErrorCode.BAD_INPUT, "Invalid match ID")
    _core(services).leave(session, match_id)
    return True, ack(session, cid)


def _op_code(value: Any) -> int | None:
    """An int64 as protojson reads it: a JSON integer or a decimal string."""
    if isinstance(value, str):
        try:
            value = int(value.strip(), 10)
        except ValueError:
            return None
    return value if isinstance(value, int) and -_INT64 <= value < _INT64 else None


def _data(text: str) -> bytes | None:
    """protojson bytes: standard or URL-safe base64, padded or not."""
    normal = text.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(normal + "=" * (-len(normal) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _targets(presences: list[Any]) -> list[str] | None:
    """The session ids of the filter, None for no filter. Raises ValueError for an entry that
    is not a presence with a valid user and session id (Nakama then drops the message)."""
    if not presences:
        return None
    out = []
    for p in presences:
        if not isinstance(p, dict) or not isinstance(p.get("user_id"), str) or not isinstance(p.get("session_id"), str):
            raise ValueError("not a presence")
        uuid.UUID(p["user_id"])
        out.append(str(uuid.UUID(p["session_id"])))
    return out


async def match_data_send(services: Any, session: WebSocketSession, cid: str, body: dict[str, Any]) -> Result:
    given = body.get("match_id", "")
    match_id = parse_match_id(given)
    if match_id is None:
        return _fail(session, cid, ErrorCode.BAD_INPUT, "Invalid match ID")
    op_code = _op_code(body.get("op_code", 0))
    if op_code is None:
        return _fail(session, cid, ErrorCode.BAD_INPUT, "Invalid op code: must be a 64-bit integer")
    data = _data(body["data"]) if "data" in body else None
    if "data" in body and data is None:
        return _fail(session, cid, ErrorCode.BAD_INPUT, "Invalid data: must be base64")
    try:
        targets = _targets(body.get("presences", []))
    except ValueError:
        return False, None  # dropped silently, as Nakama
    if not _core(services).send_data(session, match_id, given, op_code, data, targets, body.get("reliable", False)):
        return _fail(session, cid, ErrorCode.RUNTIME_EXCEPTION, "Match input queue is full: message dropped (match.input_queue_size)")
    return True, None


DOORS: dict[str, SocketDoor] = {
    "match_create": SocketDoor(match_create, {"name": str}),
    "match_join": SocketDoor(match_join, {"match_id": str, "token": str, "metadata": dict}),
    "match_leave": SocketDoor(match_leave, {"match_id": str}),
    "match_data_send": SocketDoor(match_data_send, {"match_id": str, "op_code": (int, str), "data": str, "presences": list, "reliable": bool}),
}
