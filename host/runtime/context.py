"""What the network layer hands the runtime: a call's context and its host operations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..streams.stream import StreamId

__all__ = ["CallContext", "HostOps"]


@dataclass(slots=True)
class CallContext:
    """The caller as Nakama's Lua context table describes it (runtime_lua_context.go).

    Empty strings mean "absent": the Lua table only carries user fields when a user is
    authenticated, and session_id/lang only for socket sessions, as in Nakama.
    """

    execution_mode: str = "rpc"
    user_id: str = ""
    username: str = ""
    vars: dict[str, str] = field(default_factory=dict)
    user_session_exp: int = 0
    session_id: str = ""
    lang: str = ""
    headers: dict[str, list[str]] = field(default_factory=dict)
    query_params: dict[str, list[str]] = field(default_factory=dict)
    client_ip: str = ""
    client_port: str = ""
    trace_id: str = ""


@dataclass(slots=True)
class HostOps:
    """Operations only the network layer can do. Each runs on the loop thread.

    ``stream_send_raw(stream, envelope, session_ids, reliable)`` raises
    ``ValueError("not a valid envelope: ...")`` for a bad envelope.
    ``session_disconnect(session_id, reason)`` takes a reason 0-4.
    """

    session_disconnect: Callable[[str, int], None] | None = None
    stream_send_raw: Callable[[StreamId, dict, list[str] | None, bool], None] | None = None
