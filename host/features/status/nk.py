"""nk doors of the status feature: ``status_follow(session_id, user_ids)`` and ``status_unfollow``.

As Nakama's: no existence check, no reply, and the runtime may follow or unfollow the
session's own user (clients cannot).
"""

from __future__ import annotations

import uuid
from typing import Any

from ...runtime.bridge import Bridge, check_string
from ...runtime.convert import lua_type
from ...runtime.errors import NkArgError
from . import NAME

__all__ = ["NK"]


def _args(fname: str, session_id: Any, user_ids: Any) -> tuple[str, list[str]]:
    try:
        sid = str(uuid.UUID(check_string(session_id, 1)))
    except (ValueError, NkArgError):
        raise NkArgError("expects a valid session id", 1) from None
    if lua_type(user_ids) != "table":
        raise NkArgError("invalid user ids list", 2)
    ids = []
    for i in range(1, len(user_ids) + 1):
        raw = user_ids[i]
        if not isinstance(raw, bytes):
            raise NkArgError("each user id must be a string", 2)
        try:
            ids.append(str(uuid.UUID(raw.decode("utf-8"))))
        except (ValueError, UnicodeDecodeError):
            raise NkArgError("each user id must be a valid id", 2) from None
    return sid, ids


def status_follow(bridge: Bridge, session_id: Any, user_ids: Any) -> tuple[()]:
    sid, ids = _args("status_follow", session_id, user_ids)
    core = bridge.feature("status_follow", NAME)
    bridge.post("status_follow", core.registry.follow, sid, ids)
    return ()


def status_unfollow(bridge: Bridge, session_id: Any, user_ids: Any) -> tuple[()]:
    sid, ids = _args("status_unfollow", session_id, user_ids)
    core = bridge.feature("status_unfollow", NAME)
    bridge.post("status_unfollow", core.registry.unfollow, sid, ids)
    return ()


NK = {"status_follow": status_follow, "status_unfollow": status_unfollow}
