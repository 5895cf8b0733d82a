"""Realtime error codes and WebSocket close codes, as data.

Nakama's ``rtapi.Error.Code`` values travel in ``{"error": {"code", "message"}}``
envelopes; the close codes say why the server ended a socket. Every net-layer
module takes its numbers from here, so a code is never spelled twice.
"""

from __future__ import annotations

from enum import IntEnum

from ..errors import numbered_codes

__all__ = ["ErrorCode", "CloseCode"]


ErrorCode = numbered_codes(
    "ErrorCode",
    """RUNTIME_EXCEPTION UNRECOGNIZED_PAYLOAD MISSING_PAYLOAD BAD_INPUT MATCH_NOT_FOUND MATCH_JOIN_REJECTED
    RUNTIME_FUNCTION_NOT_FOUND RUNTIME_FUNCTION_EXCEPTION""",
    "``rtapi.Error.Code``. Code 0 is omitted on the wire (protojson omit-zero).",
    __name__,
)


class CloseCode(IntEnum):
    """WebSocket close codes the server sends (RFC 6455 §7.4.1).

    Clients reconnect after GOING_AWAY (server shutdown) and usually after
    NORMAL (Nakama closes with 1000 plus a reason text for protocol errors,
    a full outgoing buffer and ``nk.session_disconnect``). MESSAGE_TOO_BIG is
    sent by the frame parser when a frame exceeds
    ``socket.max_message_size_bytes``; retrying the same message fails again.
    """

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    MESSAGE_TOO_BIG = 1009
