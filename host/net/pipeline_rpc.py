"""The socket ``rpc`` message (Nakama's pipeline_rpc.go).

Error codes are fixed on the socket whatever the Lua error said: an empty id
is 3 "RPC ID must be set", an unknown id 6 "RPC function not found", any
failure of the function 7 with its message (the gRPC code of
``error({msg, code})`` is lost, as in Nakama). The reply echoes the id in the
case the client sent; the lookup is lowercase.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..runtime.errors import RpcError, RpcNotFound
from .context import socket_context
from .envelope import error_envelope
from .errors import ErrorCode

if TYPE_CHECKING:
    from .socket import WebSocketSession

__all__ = ["rpc", "start", "FIELDS", "WAITING"]

log = logging.getLogger("nkhost.socket")

WAITING = object()
"""``start``'s answer when the reply comes later (pipeline.WAITING is this object)."""

FIELDS: dict[str, type] = {"id": str, "payload": str, "http_key": str}
"""api.Rpc's fields, for the pipeline's unknown-field check."""


async def rpc(services: Any, session: WebSocketSession, cid: str, body: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
    rpc_id = body.get("id", "")
    if not rpc_id:
        return _refused(session, cid, ErrorCode.BAD_INPUT, "RPC ID must be set")
    try:
        result = await services.runtime.call_rpc(rpc_id.lower(), socket_context(session, "rpc"), body.get("payload", ""))
    except RpcNotFound:
        return _refused(session, cid, ErrorCode.RUNTIME_FUNCTION_NOT_FOUND, "RPC function not found")
    except RpcError as exc:
        return _refused(session, cid, ErrorCode.RUNTIME_FUNCTION_EXCEPTION, exc.message)
    return _answer(session, cid, rpc_id, result)


def start(services: Any, session: WebSocketSession, cid: str, body: dict[str, Any], done: Callable[[str | None], None]) -> Any:
    """``rpc`` without a task: the worker's answer is sent from a callback, then ``done``."""
    rpc_id = body.get("id", "")
    if not rpc_id:
        _refused(session, cid, ErrorCode.BAD_INPUT, "RPC ID must be set")
        return None

    def reply(ok: bool, value: Any) -> None:
        reason = None
        try:
            if ok:
                _answer(session, cid, rpc_id, value)
            elif isinstance(value, RpcError):
                _refused(session, cid, ErrorCode.RUNTIME_FUNCTION_EXCEPTION, value.message)
            elif isinstance(value, RpcNotFound):
                _refused(session, cid, ErrorCode.RUNTIME_FUNCTION_NOT_FOUND, "RPC function not found")
            else:
                raise value
        except Exception:
            log.exception("session %s: message handling failed", session.session_id)
            reason = "internal error"
        done(reason)

    try:
        services.runtime.start_rpc(rpc_id.lower(), socket_context(session, "rpc"), body.get("payload", ""), reply)
    except RpcNotFound:
        _refused(session, cid, ErrorCode.RUNTIME_FUNCTION_NOT_FOUND, "RPC function not found")
        return None
    return WAITING


def _refused(session: WebSocketSession, cid: str, code: int, message: str) -> tuple[bool, None]:
    session.send_envelope(error_envelope(cid, code, message))
    return False, None


def _answer(session: WebSocketSession, cid: str, rpc_id: str, result: str | None) -> tuple[bool, dict[str, Any]]:
    message: dict[str, Any] = {"id": rpc_id}
    if result:
        message["payload"] = result
    out = {"cid": cid, "rpc": message} if cid else {"rpc": message}
    session.send_envelope(out)
    return True, out
