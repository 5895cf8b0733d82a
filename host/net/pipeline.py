"""Realtime message dispatch: parse an envelope strictly, run hooks, call its handler.

Nakama's pipeline.go, as data: a ``SocketDoors`` table maps an envelope key to
a ``SocketDoor`` (its handler and its message's fields). The core doors (``rpc``,
``ping``, ``pong``) live here; each built-in feature brings its own
(``host/features``), and ``host/app.py`` puts them in one table. The rules
(nakama-behaviour.md §3.2, §2.3):

* The text is read like protojson with ``DiscardUnknown: false``: malformed
  JSON, an unknown envelope key, an unknown field of a handled message or a
  wrong type closes the socket without an error envelope.
* No message: error 2 "Missing message." and close. A known envelope key
  without a handler here (``stream_data``, ``channel_join``, ...): error 1
  "Unrecognized message." and close.
* ``register_rt_before`` hooks run before every handler except ``rpc``: nil
  rejects (error 1 "Requested resource was not found." and close), an error
  answers code 7 and the socket stays open. ``register_rt_after`` hooks run
  only after a successful handler.

``start`` is the socket's entry: it handles an RPC without an asyncio task (the worker's
answer comes back as a callback), and returns every other message as a coroutine for the
socket's inbox task.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from ..errors import ApiError, Code
from ..runtime.errors import RpcError
from . import pipeline_rpc
from .context import socket_context
from .envelope import error_envelope
from .errors import ErrorCode

if TYPE_CHECKING:
    from .socket import WebSocketSession

__all__ = ["process", "start", "WAITING", "CORE_DOORS", "SocketDoor", "SocketDoors", "Repeated", "ENVELOPE_KEYS", "hook_name", "reply_error", "reply_api_error", "ack", "Malformed"]

log = logging.getLogger("nkhost.pipeline")

Handler = Callable[[Any, "WebSocketSession", str, dict[str, Any]], Awaitable[tuple[bool, "dict[str, Any] | None"]]]

# Every oneof key of rtapi.Envelope (realtime.proto), snake_case proto names.
ENVELOPE_KEYS = frozenset(
    """channel channel_join channel_leave channel_message channel_message_ack channel_message_send
    channel_message_update channel_message_remove channel_presence_event error match match_create
    match_data match_data_send match_join match_leave match_presence_event matchmaker_add
    matchmaker_matched matchmaker_remove matchmaker_ticket notifications rpc status status_follow
    status_presence_event status_unfollow status_update stream_data stream_presence_event ping pong
    party party_create party_join party_leave party_promote party_leader party_accept party_remove
    party_close party_join_request_list party_join_request party_matchmaker_add
    party_matchmaker_remove party_matchmaker_ticket party_data party_data_send party_presence_event
    party_update""".split()
)


def _json_name(proto_name: str) -> str:
    """protojson also accepts the lowerCamel JSON name of a field."""
    head, *rest = proto_name.split("_")
    return head + "".join(part.title() for part in rest)


_KEY_BY_NAME = {name: key for key in ENVELOPE_KEYS | {"cid"} for name in (key, _json_name(key))}


class Malformed(ValueError):
    """The text is not a valid envelope; the socket closes without an error reply."""


@dataclass(slots=True, frozen=True)
class Repeated:
    """A repeated field: a JSON array whose every item is of ``item``'s type(s)."""

    item: type | tuple[type, ...]


FieldKind = type | tuple[type, ...] | Repeated
"""The JSON type(s) a message field accepts: ``str``, ``(int, str)`` for an int64,
``Repeated(str)`` for a ``repeated string``, ``dict`` for a nested message..."""


Starter = Callable[[Any, "WebSocketSession", str, dict[str, Any], Callable[[str | None], None]], Any]
"""``start(services, session, cid, body, done)``: a handler that needs no task. Returns None
when it finished at once, or ``WAITING`` when it calls ``done(close reason or None)`` later."""

WAITING = pipeline_rpc.WAITING
"""What ``start`` returns when the message's answer comes later, through ``done``."""


@dataclass(slots=True, frozen=True)
class SocketDoor:
    """One realtime message: its handler and its fields (proto name -> JSON type).

    A handler returns ``(success, out)``: ``out`` is the reply envelope it sent (None
    when it sent none), which the after hook receives. ``hooks=False`` skips the
    realtime hooks (``rpc``, as Nakama); such a door may also have a ``start``
    (see ``Starter``), which the socket uses instead of the handler.
    """

    handler: Handler
    fields: Mapping[str, FieldKind]
    hooks: bool = True
    start: Starter | None = None


async def _ping(services: Any, session: WebSocketSession, cid: str, body: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
    out = {"cid": cid, "pong": {}} if cid else {"pong": {}}
    session.send_envelope(out)
    return True, out


async def _pong(services: Any, session: WebSocketSession, cid: str, body: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
    return True, None  # an incoming pong only proves liveness, which any frame does


CORE_DOORS: dict[str, SocketDoor] = {
    # Nakama: RPC messages get no realtime hooks
    "rpc": SocketDoor(pipeline_rpc.rpc, pipeline_rpc.FIELDS, hooks=False, start=pipeline_rpc.start),
    "ping": SocketDoor(_ping, {}),
    "pong": SocketDoor(_pong, {}),
}


def hook_name(key: str) -> str:
    """The CamelCase message name hooks are registered under: channel_join -> ChannelJoin."""
    return "".join(part.title() for part in key.split("_"))


class SocketDoors:
    """The realtime messages this server handles, and the strict envelope reader they share."""

    __slots__ = ("doors", "_fields")

    def __init__(self, doors: Mapping[str, SocketDoor]) -> None:
        unknown = set(doors) - ENVELOPE_KEYS
        if unknown:
            raise ValueError(f"not envelope keys: {sorted(unknown)}")
        self.doors = dict(doors)
        self._fields = {
            key: {name: (field, kind) for field, kind in door.fields.items() for name in (field, _json_name(field))}
            for key, door in self.doors.items()
        }

    def get(self, key: str) -> SocketDoor | None:
        return self.doors.get(key)

    def parse(self, envelope: Any) -> tuple[str, str | None, dict[str, Any]]:
        """(cid, message key or None, message body with proto field names). Raises Malformed."""
        if not isinstance(envelope, dict):
            raise Malformed("envelope is not an object")
        cid = ""
        key: str | None = None
        body: dict[str, Any] = {}
        for name, value in envelope.items():
            proto = _KEY_BY_NAME.get(name)
            if proto is None:
                raise Malformed(f"unknown field {name!r}")
            if value is None:
                continue
            if proto == "cid":
                if not isinstance(value, str):
                    raise Malformed("cid is not a string")
                cid = value
                continue
            if not isinstance(value, dict):
                raise Malformed(f"{proto} is not an object")
            if key is not None:
                raise Malformed("more than one message")
            key, body = proto, value
        if key is not None:
            known = self._fields.get(key)
            if known is not None:
                body = _check_fields(key, known, body)
        return cid, key, body


def _check_fields(key: str, known: dict[str, tuple[str, FieldKind]], body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in body.items():
        spec = known.get(name)
        if spec is None:
            raise Malformed(f"unknown field {key}.{name}")
        field, kind = spec
        if value is None:
            continue
        if type(kind) is Repeated:
            if type(value) is not list or not all(_is(item, kind.item) for item in value):
                raise Malformed(f"{key}.{field} is not a list of {_kind_name(kind.item)}")
        elif not _is(value, kind):
            raise Malformed(f"{key}.{field} is not a {_kind_name(kind)}")
        out[field] = value
    return out


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    """isinstance, except that a JSON boolean is not a number (bool subclasses int)."""
    return isinstance(value, kind) and (type(value) is not bool or bool in _kinds(kind))


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in _kinds(kind))


def reply_error(session: WebSocketSession, cid: str, code: int, message: str) -> None:
    session.send_envelope(error_envelope(cid, code, message))


def reply_api_error(session: WebSocketSession, cid: str, exc: ApiError, codes: Mapping[int, int] | None = None) -> None:
    """A core's ApiError as a realtime error: its gRPC code through ``codes`` (a feature's own
    mapping, e.g. NOT_FOUND -> MATCH_NOT_FOUND), else invalid input as BAD_INPUT (3) and
    anything else as RUNTIME_EXCEPTION (0), as Nakama's handlers answer."""
    code = (codes or {}).get(exc.code)
    if code is None:
        code = ErrorCode.BAD_INPUT if exc.code == Code.INVALID_ARGUMENT else ErrorCode.RUNTIME_EXCEPTION
    reply_error(session, cid, code, exc.message)


def ack(session: WebSocketSession, cid: str) -> dict[str, Any]:
    """The empty acknowledgement ``{"cid": ...}`` of a request with no reply of its own."""
    out = {"cid": cid} if cid else {}
    session.send_envelope(out)
    return out


def start(services: Any, session: WebSocketSession, payload: bytes, done: Callable[[str | None], None]) -> Any:
    """Begin one text message: a close reason or None when it was handled here, ``WAITING``
    when ``done(close reason or None)`` will be called, or else a coroutine that handles it
    (returning the close reason), for the caller to await."""
    parsed = _parse(services.doors, session, payload)
    if type(parsed) is not tuple:
        return parsed
    door, key, cid, body, envelope = parsed
    if door.start is not None and not door.hooks:
        return door.start(services, session, cid, body, done)
    return _handle(services, session, door, key, cid, body, envelope)


async def process(services: Any, session: WebSocketSession, payload: bytes) -> str | None:
    """Handle one text message. Returns a close reason, or None to keep the socket open."""
    parsed = _parse(services.doors, session, payload)
    if type(parsed) is not tuple:
        return parsed
    return await _handle(services, session, *parsed)


def _parse(doors: SocketDoors, session: WebSocketSession, payload: bytes) -> tuple[SocketDoor, str, str, dict[str, Any], Any] | str:
    """(door, key, cid, body, envelope), or the close reason of a message that has no door."""
    try:
        envelope = orjson.loads(payload)
        cid, key, body = doors.parse(envelope)
    except (orjson.JSONDecodeError, Malformed) as exc:
        log.debug("session %s: malformed payload: %s", session.session_id, exc)
        return "received malformed payload"
    if key is None:
        reply_error(session, cid, ErrorCode.MISSING_PAYLOAD, "Missing message.")
        return "missing message"
    door = doors.get(key)
    if door is None:
        reply_error(session, cid, ErrorCode.UNRECOGNIZED_PAYLOAD, "Unrecognized message.")
        return "unrecognized message"
    return door, key, cid, body, envelope


async def _handle(services: Any, session: WebSocketSession, door: SocketDoor, key: str, cid: str, body: dict[str, Any], envelope: Any) -> str | None:
    handler = door.handler
    if not door.hooks:
        await handler(services, session, cid, body)
        return None

    runtime = services.runtime
    name = hook_name(key)
    if runtime.has_hook("rt_before", name):
        try:
            result = await runtime.before_rt(name, socket_context(session, "before"), envelope)
            if result is not None:
                cid, key2, body = services.doors.parse(result)
                if key2 != key:
                    raise Malformed(f"before hook changed the message to {key2!r}")
                envelope = result
        except (RpcError, Malformed) as exc:
            # Errors from before hooks do not close the session.
            reply_error(session, cid, ErrorCode.RUNTIME_FUNCTION_EXCEPTION, getattr(exc, "message", None) or str(exc))
            return None
        if result is None:
            reply_error(session, cid, ErrorCode.UNRECOGNIZED_PAYLOAD, "Requested resource was not found.")
            return "requested resource was not found"

    success, out = await handler(services, session, cid, body)
    if success and runtime.has_hook("rt_after", name):
        try:
            await runtime.after_rt(name, socket_context(session, "after"), out, envelope)
        except RpcError as exc:
            log.warning("session %s: after hook %s failed: %s", session.session_id, name, exc)
    return None
