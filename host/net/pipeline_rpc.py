"""The socket ``rpc`` message (Nakama's pipeline_rpc.go).

Error codes are fixed on the socket whatever the Lua error said: an empty id
is 3 "RPC ID must be set", an unknown id 6 "RPC function not found", any
failure of the function 7 with its message (the gRPC code of
``error({msg, code})`` is lost, as in Nakama). The reply echoes the id in the
case the client sent; the lookup is lowercase.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..runtime.errors import RpcError, RpcNotFound
from .context import socket_context
from .envelope import error_envelope
from .errors import ErrorCode

if TYPE_CHECKING:
    from .socket import WebSocketSession

__all__ = ["rpc", "FIELDS"]

FIELDS: dict[str, type] = {"id": str, "payload": str, "http_key": str}
"""api.Rpc's fields, for the pipeline's unknown-field check."""


async def rpc(services: Any, session: WebSocketSession, cid: str, body: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
    rpc_id = body.get("id", "")
    if not rpc_id:
        session.send_envelope(error_envelope(cid, ErrorCode.BAD_INPUT, "RPC ID must be set"))
        return False, None
    try:
        result = await services.runtime.call_rpc(rpc_id.lower(), socket_context(session, "rpc"), body.get("payload", ""))
    except RpcNotFound:
        session.send_envelope(error_envelope(cid, ErrorCode.RUNTIME_FUNCTION_NOT_FOUND, "RPC function not found"))
        return False, None
    except RpcError as exc:
        session.send_envelope(error_envelope(cid, ErrorCode.RUNTIME_FUNCTION_EXCEPTION, exc.message))
        return False, None
    message: dict[str, Any] = {"id": rpc_id}
    if result:
        message["payload"] = result
    out = {"cid": cid, "rpc": message} if cid else {"rpc": message}
    session.send_envelope(out)
    return True, out
