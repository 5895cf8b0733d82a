"""nk doors of chat: ``channel_message_send``, ``channel_message_update``,
``channel_message_remove``, ``channel_messages_list``, ``channel_id_build`` (Nakama 3.40's
arguments, returns and texts).

Server code is trusted: no presence or membership is checked (as storage bypasses
permissions), and ``channel_messages_list`` reads any channel. Where Nakama slipped, the
module gets what it meant (each pinned by a test):

* ``persist`` defaults to true, as Nakama documents (its code defaults to false);
* a bad channel id in ``channel_messages_list`` says so (Nakama: "error converting
  leaderboard records: invalid channel id");
* ``channel_id_build("", user, 2)`` is refused: the server has no DM of its own (Nakama
  returns ``2...``, which nothing accepts);
* with ``persist`` an update or removal needs the sender's message in *this* channel.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from ...errors import ApiError
from ...runtime.bridge import Bridge, check_string, opt_bool, opt_string
from ...runtime.convert import type_name
from ...runtime.errors import NkArgError
from ...storage import DatabaseError
from ..users.nk import lua_object
from .channel import Channel, InvalidChannel, parse_channel_id, parse_uuid
from .core import NAME, ChatCore
from .history import decode_cursor
from .message import Message

__all__ = ["NK"]

SEND_FAILED = "failed to send channel message"
NOT_FOUND = f"{SEND_FAILED}: channel message not found"
PERSIST_FAILED = f"{SEND_FAILED}: error persisting channel message"


def _core(bridge: Bridge, fname: str) -> ChatCore:
    return bridge.feature(fname, NAME)  # type: ignore[no-any-return]


def _channel(value: Any) -> Channel:
    try:
        return parse_channel_id(check_string(value, 1))
    except InvalidChannel:
        raise NkArgError("error converting channel identifier to stream: invalid channel id") from None


def _content(value: Any, argn: int) -> str:
    """A table as a JSON object's text (keys sorted, as Go marshals a map); nil is ``{}``."""
    if value is None:
        return "{}"
    data = lua_object(value, argn, "message content", "expects message content to be a valid JSON object")
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()


def _sender(value: Any, argn: int) -> str:
    """"" (or nil) is the server, else a user id."""
    text = opt_string(value, argn)
    if not text:
        return ""
    uid = parse_uuid(text)
    if uid is None:
        raise NkArgError("expects sender id to either be not set, empty string or a valid UUID", argn)
    return uid


def _message_id(value: Any) -> str:
    try:
        return str(uuid.UUID(check_string(value, 2)))
    except ValueError:
        raise NkArgError("Invalid message identifier", 2) from None


def _ack(message: Message) -> dict[str, Any]:
    return {
        "channelId": message.channel.id, "messageId": message.id, "code": message.code, "username": message.username,
        "createTime": message.create_time // 1_000_000, "updateTime": message.update_time // 1_000_000,
        "persistent": message.persistent,
    }


def _run(bridge: Bridge, fname: str, failure: str, fn: Any, *args: Any) -> Any:
    try:
        return bridge.run(fname, fn, *args)
    except DatabaseError:
        raise NkArgError(failure) from None


def channel_message_send(
    bridge: Bridge, channel_id: Any = None, content: Any = None, sender_id: Any = None, sender_username: Any = None, persist: Any = None
) -> dict[str, Any]:
    channel = _channel(channel_id)
    text = _content(content, 2)
    sender, username, stored = _sender(sender_id, 3), opt_string(sender_username, 4), opt_bool(persist, 5, True)
    core = _core(bridge, "channel_message_send")
    return _ack(_run(bridge, "channel_message_send", PERSIST_FAILED, core.post, channel, text, sender, username, stored))


def _revise(bridge: Bridge, fname: str, channel: Channel, mid: str, content: str | None, args: tuple[Any, ...], first: int) -> dict[str, Any]:
    sender_id, sender_username, persist = (args + (None,) * 3)[:3]
    sender, username, stored = _sender(sender_id, first), opt_string(sender_username, first + 1), opt_bool(persist, first + 2, True)
    core = _core(bridge, fname)
    message = _run(bridge, fname, PERSIST_FAILED, core.revise, channel, mid, sender, username, content, stored)
    if message is None:
        raise NkArgError(NOT_FOUND)
    return _ack(message)


def channel_message_update(bridge: Bridge, channel_id: Any = None, message_id: Any = None, content: Any = None, *rest: Any) -> dict[str, Any]:
    channel, mid = _channel(channel_id), _message_id(message_id)
    return _revise(bridge, "channel_message_update", channel, mid, _content(content, 3), rest, 4)


def channel_message_remove(bridge: Bridge, channel_id: Any = None, message_id: Any = None, *rest: Any) -> dict[str, Any]:
    channel, mid = _channel(channel_id), _message_id(message_id)
    return _revise(bridge, "channel_message_remove", channel, mid, None, rest, 3)


def _message_table(message: Message) -> dict[str, Any]:
    stream = message.channel.stream
    out: dict[str, Any] = {
        "channelId": message.channel.id, "messageId": message.id, "code": message.code,
        "senderId": message.sender_id or "00000000-0000-0000-0000-000000000000", "username": message.username,
        "content": message.content, "createTime": message.create_time // 1_000_000,
        "updateTime": message.update_time // 1_000_000, "persistent": message.persistent,
    }
    for key, value in (("roomName", stream.label), ("groupId", stream.subject if stream.mode == 3 else None)):
        if value:
            out[key] = value
    if stream.mode == 4:
        out["userIdOne"], out["userIdTwo"] = stream.subject, stream.subcontext
    return out


def channel_messages_list(bridge: Bridge, channel_id: Any = None, limit: Any = None, forward: Any = None, cursor: Any = None) -> tuple[Any, Any, Any]:
    channel = _channel(channel_id)
    if limit is None:
        count = 100
    elif isinstance(limit, bool) or not isinstance(limit, (int, float)):
        raise NkArgError(f"number expected, got {type_name(limit)}", 2)
    else:
        count = int(limit)
    if not 1 <= count <= 100:
        raise NkArgError("limit must be 1-100", 2)
    onward = opt_bool(forward, 3, True)
    text = opt_string(cursor, 4)
    try:
        position = decode_cursor(text, channel, onward) if text else None
    except ApiError:
        raise NkArgError("failed to list channel messages: invalid channel cursor") from None
    core = _core(bridge, "channel_messages_list")
    try:
        page = bridge.run("channel_messages_list", core.history, channel, count, onward, position)
    except DatabaseError as exc:
        raise NkArgError(f"failed to list channel messages: {exc}") from None
    return [_message_table(m) for m in page.messages], page.next_cursor or None, page.prev_cursor or None


def channel_id_build(bridge: Bridge, sender_id: Any = None, target: Any = None, kind: Any = None) -> str:
    sender = _sender(sender_id, 1) or None
    # A room name that is not UTF-8 gets the join's text (surrogates fail its UTF-8 check).
    name = target.decode("utf-8", "surrogateescape") if isinstance(target, bytes) else check_string(target, 2)
    if isinstance(kind, bool) or not isinstance(kind, (int, float)):
        raise NkArgError(f"number expected, got {type_name(kind)}", 3)
    if kind not in (1, 2, 3):
        raise NkArgError("invalid channel type: expects value 1-3", 3)
    core = _core(bridge, "channel_id_build")
    try:
        channel = bridge.run("channel_id_build", core.channel_for, sender, name, int(kind))
    except ApiError as exc:
        raise NkArgError(exc.message, 1) from None  # Nakama reports every target error as #1
    return channel.id  # type: ignore[no-any-return]


NK = {
    "channel_message_send": channel_message_send,
    "channel_message_update": channel_message_update,
    "channel_message_remove": channel_message_remove,
    "channel_messages_list": channel_messages_list,
    "channel_id_build": channel_id_build,
}
