"""Chat channels (nakama-features.md §1): rooms (stream mode 2), group chat (3) and direct
messages (4), with history.

``core.ChatCore`` holds the rules over the stream engine, the ``message`` table
(``store.py``) and the batching writer (``writer.py``); the doors are the realtime channel
messages (``socket.py``), ``GET /v2/channel/{channel_id}`` (``rest.py``) and the
``nk.channel_*`` functions (``nk.py``). It uses the users, friends and groups cores (who may
join a DM or a group's chat) and notifications (the DM invitation), and records the groups
core's membership changes as group chat messages (its ``listeners``).
"""

from __future__ import annotations

from typing import Any

from .. import Feature
from .core import NAME, ChatCore
from .nk import NK
from .rest import ROUTES
from .socket import DOORS
from .store import SCHEMA

__all__ = ["NAME", "NK", "SCHEMA", "build"]


def build(services: Any) -> Feature:
    features = services.features
    core = ChatCore(services.database, services.streams, features["users"], features["friends"], features["groups"], features["notifications"])
    features["groups"].listeners.append(core)
    return Feature(NAME, core, socket=DOORS, routes=ROUTES, close=core.close)
