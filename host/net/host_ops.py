"""The runtime's view of the network layer: ``nk.session_disconnect`` and ``nk.stream_send_raw``.

Both run on the loop thread (the runtime marshals them there).
``stream_send_raw`` reads the envelope the way Nakama does (protojson into an
``rtapi.Envelope``): an unknown key, a second message, a non-object message or
a bad field of a message the pipeline knows is "not a valid envelope". The
envelope is then framed once and sent to the stream's members (hidden ones
and the caller included) or to the chosen sessions.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..runtime.context import HostOps
from ..streams.presence import PresenceReason
from ..streams.stream import StreamId
from .envelope import text_frame
from .errors import CloseCode
from .pipeline import Malformed

__all__ = ["host_ops"]


def host_ops(services: Any) -> HostOps:
    def session_disconnect(session_id: str, reason: int = PresenceReason.DISCONNECT) -> None:
        session = services.sessions.get(session_id)
        if session is not None:
            session.close(CloseCode.NORMAL, "server-side session disconnect", PresenceReason(reason))

    def stream_send_raw(stream: StreamId, envelope: dict[str, Any], session_ids: list[str] | None, reliable: bool = True) -> None:
        try:
            cid, key, body = services.doors.parse(envelope)
        except Malformed as exc:
            raise ValueError(f"not a valid envelope: {exc}") from None
        normalized: dict[str, Any] = {"cid": cid} if cid else {}
        if key is not None:
            normalized[key] = body
        data = text_frame(orjson.dumps(normalized))
        targets = services.tracker.recipients(stream) if session_ids is None else session_ids
        services.router.send_bytes(targets, data, reliable)

    return HostOps(session_disconnect=session_disconnect, stream_send_raw=stream_send_raw)
