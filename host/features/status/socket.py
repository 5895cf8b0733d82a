"""Realtime doors of the status feature: ``status_follow``, ``status_unfollow``, ``status_update``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import ApiError
from ...net.pipeline import Repeated, SocketDoor, ack, reply_api_error
from . import NAME

if TYPE_CHECKING:
    from ...net.socket import WebSocketSession

__all__ = ["DOORS"]

Reply = tuple[bool, "dict[str, Any] | None"]


async def status_follow(services: Any, session: WebSocketSession, cid: str, body: dict[str, Any]) -> Reply:
    core = services.features[NAME]
    try:
        presences = await core.follow(session.session_id, session.user_id, session.username, body.get("user_ids", []), body.get("usernames", []))
    except ApiError as exc:
        reply_api_error(session, cid, exc)
        return False, None
    status: dict[str, Any] = {}
    if presences:
        status["presences"] = [p.to_wire(with_status=True) for p in presences]
    out = {"cid": cid, "status": status} if cid else {"status": status}
    session.send_envelope(out)
    return True, out if presences is not None else None  # nothing to follow: the after hook sees no reply


async def status_unfollow(services: Any, session: WebSocketSession, cid: str, body: dict[str, Any]) -> Reply:
    try:
        services.features[NAME].unfollow(session.session_id, session.user_id, body.get("user_ids", []))
    except ApiError as exc:
        reply_api_error(session, cid, exc)
        return False, None
    return True, ack(session, cid)


async def status_update(services: Any, session: WebSocketSession, cid: str, body: dict[str, Any]) -> Reply:
    try:
        services.features[NAME].update(session.session_id, session.user_id, body.get("status"))
    except ApiError as exc:
        reply_api_error(session, cid, exc)
        return False, None
    return True, ack(session, cid)


DOORS = {
    "status_follow": SocketDoor(status_follow, {"user_ids": Repeated(str), "usernames": Repeated(str)}),
    "status_unfollow": SocketDoor(status_unfollow, {"user_ids": Repeated(str)}),
    "status_update": SocketDoor(status_update, {"status": str}),
}
