"""The stream engine: stream ids, presence tracking, presence events and fan-out.

No I/O and no Lua here: the runtime and the network layer call in, never the
other way round.
"""

from __future__ import annotations

from .errors import InvalidStream, NodeNotFound, SessionClosed, SessionNotFound, StreamError
from .manager import StreamManager
from .node import is_local_session, new_session_id, node_hash
from .presence import Presence, PresenceEvent, PresenceMeta, PresenceReason
from .router import Router, StreamData
from .sink import DEFAULT_MAX_BUFFER, MemorySink, SessionSink
from .stream import (
    MODE_CHANNEL,
    MODE_DM,
    MODE_GROUP,
    MODE_MATCH_AUTHORITATIVE,
    MODE_MATCH_RELAYED,
    MODE_NOTIFICATIONS,
    MODE_PARTY,
    MODE_STATUS,
    StreamId,
    StreamMode,
)
from .tracker import Tracker
from .tracker_memory import MemoryTracker

__all__ = [
    "DEFAULT_MAX_BUFFER",
    "InvalidStream",
    "MemorySink",
    "MemoryTracker",
    "MODE_CHANNEL",
    "MODE_DM",
    "MODE_GROUP",
    "MODE_MATCH_AUTHORITATIVE",
    "MODE_MATCH_RELAYED",
    "MODE_NOTIFICATIONS",
    "MODE_PARTY",
    "MODE_STATUS",
    "NodeNotFound",
    "Presence",
    "PresenceEvent",
    "PresenceMeta",
    "PresenceReason",
    "Router",
    "SessionClosed",
    "SessionNotFound",
    "SessionSink",
    "StreamData",
    "StreamError",
    "StreamId",
    "StreamManager",
    "StreamMode",
    "Tracker",
    "new_session_id",
    "is_local_session",
    "node_hash",
]
