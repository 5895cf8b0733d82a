"""The realtime chat messages: ``channel_join`` -> ``channel``, ``channel_leave`` -> empty ack,
``channel_message_send`` / ``_update`` / ``_remove`` -> ``channel_message_ack`` (after the
``channel_message`` push reached the channel's members, the sender included).

Every failure keeps the socket open with an ``error`` carrying the request's cid: invalid
input as code 3, a database or tracking failure as code 0, with Nakama's texts. The realtime
before/after hooks (``ChannelJoin``, ``ChannelMessageSend``, ...) run in the pipeline around
these handlers; an after hook runs only when the request succeeded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from ...errors import ApiError
from ...net.pipeline import SocketDoor, ack, reply_api_error
from ...net.protojson import Int32, int_value
from .core import NAME, Caller, ChatCore

if TYPE_CHECKING:
    from ...net.socket import WebSocketSession

__all__ = ["DOORS"]

Run = Callable[[ChatCore, Caller, dict[str, Any]], Awaitable[dict[str, Any]]]


def _door(fields: Mapping[str, Any], run: Run) -> SocketDoor:
    """A handler awaiting ``run(core, caller, body)``: the reply's message, or ``{}`` for the
    empty ack; an ApiError is answered as an error."""

    async def handler(services: Any, session: WebSocketSession, cid: str, body: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
        core: ChatCore = services.features[NAME]
        try:
            message = await run(core, Caller(session.user_id, session.session_id, session.username), body)
        except ApiError as exc:
            reply_api_error(session, cid, exc)
            return False, None
        if not message:
            return True, ack(session, cid)
        out = {"cid": cid, **message} if cid else message
        session.send_envelope(out)
        return True, out

    return SocketDoor(handler, fields)


async def _join(core: ChatCore, me: Caller, b: dict[str, Any]) -> dict[str, Any]:
    channel = await core.join(me, b.get("target", ""), int_value(b.get("type")), b.get("persistence", True), b.get("hidden", False))
    return {"channel": channel}


async def _leave(core: ChatCore, me: Caller, b: dict[str, Any]) -> dict[str, Any]:
    core.leave(me, b.get("channel_id", ""))
    return {}


async def _send(core: ChatCore, me: Caller, b: dict[str, Any]) -> dict[str, Any]:
    message = await core.send(me, b.get("channel_id", ""), b.get("content", ""))
    return {"channel_message_ack": message.ack()}


async def _update(core: ChatCore, me: Caller, b: dict[str, Any]) -> dict[str, Any]:
    message = await core.update(me, b.get("channel_id", ""), b.get("message_id", ""), b.get("content", ""))
    return {"channel_message_ack": message.ack()}


async def _remove(core: ChatCore, me: Caller, b: dict[str, Any]) -> dict[str, Any]:
    message = await core.remove(me, b.get("channel_id", ""), b.get("message_id", ""))
    return {"channel_message_ack": message.ack()}


DOORS: dict[str, SocketDoor] = {
    "channel_join": _door({"target": str, "type": Int32, "persistence": bool, "hidden": bool}, _join),
    "channel_leave": _door({"channel_id": str}, _leave),
    "channel_message_send": _door({"channel_id": str, "content": str}, _send),
    "channel_message_update": _door({"channel_id": str, "message_id": str, "content": str}, _update),
    "channel_message_remove": _door({"channel_id": str, "message_id": str}, _remove),
}
