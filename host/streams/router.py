"""The Router: encode a message once and hand the same bytes to every recipient's sink."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .presence import Presence, PresenceEvent
from .sink import SessionSink
from .stream import StreamId
from .tracker import Tracker

__all__ = ["Router", "StreamData", "Encoder", "EventRecipients", "PresenceListener"]


@dataclass(slots=True)
class StreamData:
    """Data sent to a stream (Nakama's StreamData; ``sender`` is None from stream_send)."""

    stream: StreamId
    data: str
    reliable: bool = True
    sender: Presence | None = None


Encoder = Callable[[Any], bytes]
"""Turns an engine message (StreamData, PresenceEvent, or a net-layer envelope) into bytes."""

EventRecipients = Callable[[PresenceEvent], Iterable[str]]
"""Chooses who hears a presence event on a given mode (status events go to followers)."""

PresenceListener = Callable[[PresenceEvent], None]
"""Told of every presence event on a mode before it is delivered (a built-in feature that keeps
state about a stream's members: parties on mode 7, authoritative matches on mode 6)."""


class Router:
    """Delivers messages and presence events to session sinks.

    Recipients are snapshotted before the first send, so a sink that overflows
    (and gets its connection closed later) cannot disturb the loop. The
    encoder is given by the network layer: the engine never knows the wire.
    """

    __slots__ = ("tracker", "encode", "sinks", "event_recipients", "listeners")

    def __init__(self, tracker: Tracker, encode: Encoder, event_recipients: dict[int, EventRecipients] | None = None) -> None:
        self.tracker = tracker
        self.encode = encode
        self.sinks: dict[str, SessionSink] = {}
        self.event_recipients: dict[int, EventRecipients] = dict(event_recipients or {})
        self.listeners: dict[int, list[PresenceListener]] = {}

    def listen(self, mode: int, listener: PresenceListener) -> None:
        """Call ``listener(event)`` for every presence event on a stream of ``mode``, before the
        event is delivered (Nakama's side listeners): what the listener sends reaches each
        recipient ahead of the event. It must not raise; it may send, and close streams."""
        self.listeners.setdefault(mode, []).append(listener)

    # Sinks --------------------------------------------------------------------

    def register(self, sink: SessionSink) -> None:
        self.sinks[sink.session_id] = sink

    def unregister(self, session_id: str) -> SessionSink | None:
        return self.sinks.pop(session_id, None)

    def sink(self, session_id: str) -> SessionSink | None:
        return self.sinks.get(session_id)

    # Delivery -----------------------------------------------------------------

    def send_to_stream(self, stream: StreamId, message: Any, reliable: bool = True) -> int:
        """Send to every member, hidden ones and the sender's own session included."""
        return self.send_to_sessions(self.tracker.recipients(stream), message, reliable)

    def send_to_sessions(self, session_ids: Iterable[str], message: Any, reliable: bool = True) -> int:
        """Send to chosen sessions (no membership check, as Nakama); returns deliveries."""
        sinks = self.sinks
        targets = [s for s in map(sinks.get, session_ids) if s is not None]
        if not targets:
            return 0  # nobody local: skip encoding, as Nakama does
        data = self.encode(message)
        delivered = 0
        for sink in targets:
            if sink.send(data, reliable):
                delivered += 1
        return delivered

    def send_bytes(self, session_ids: Iterable[str], data: bytes, reliable: bool = True) -> int:
        """Send already-encoded bytes (a raw envelope) to chosen sessions."""
        delivered = 0
        sinks = self.sinks
        for sid in list(session_ids):
            sink = sinks.get(sid)
            if sink is not None and sink.send(data, reliable):
                delivered += 1
        return delivered

    def publish(self, events: list[PresenceEvent]) -> None:
        """Deliver presence events now, in order, to every current member.

        Called right after the tracker mutation that produced them, so the
        joiner hears its own join and a leaver does not hear its own leave.
        """
        listeners = self.listeners
        for event in events:
            if listeners:
                for listener in listeners.get(event.stream.mode, ()):
                    listener(event)
            choose = self.event_recipients.get(event.stream.mode)
            recipients = choose(event) if choose is not None else self.tracker.recipients(event.stream)
            self.send_to_sessions(recipients, event, True)
