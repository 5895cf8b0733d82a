"""Helpers for engine tests: an engine wired to recording sinks."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from host.net.envelope import encode
from host.streams import MemorySink, MemoryTracker, Router, StreamManager, new_session_id

NODE = "nakama"


@dataclass
class Engine:
    tracker: MemoryTracker
    router: Router
    manager: StreamManager
    sinks: dict[str, MemorySink] = field(default_factory=dict)
    encodes: int = 0

    def connect(self, user_id: str, username: str = "", max_bytes: int = 1 << 20) -> MemorySink:
        sink = MemorySink(new_session_id(NODE), user_id, username or user_id, max_bytes=max_bytes)
        self.manager.connect(sink)
        self.sinks[sink.session_id] = sink
        return sink

    def received(self, sink: MemorySink) -> list[dict]:
        """Decoded envelopes the sink got since the last call."""
        return [orjson.loads(m) for m in sink.drain()]


def make_engine() -> Engine:
    tracker = MemoryTracker(NODE)
    engine: Engine

    def counting_encode(message: object) -> bytes:
        engine.encodes += 1
        return encode(message)

    router = Router(tracker, counting_encode)
    engine = Engine(tracker, router, StreamManager(tracker, router))
    return engine
