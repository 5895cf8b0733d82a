"""One realtime WebSocket connection: frames in, envelopes out, and the engine's sink.

A ``WebSocketSession`` takes over the transport from the HTTP protocol once
``/ws`` is accepted. The ``websockets`` sans-I/O ``ServerProtocol`` parses
incoming frames and answers pings and closes; outgoing data frames bypass it:
the Router hands every recipient the same pre-built frame (``envelope.encode_frame``)
and ``send`` only appends it to this socket's pending list. The pending list is
written with one ``writelines`` on the next loop tick, so a burst of messages to
a socket costs one syscall (socket-layer-measurements.md, design E: ~2 µs a
delivery against ~10 µs for a write per message).

Backpressure, per socket and in bytes: the budget is
``socket.outgoing_queue_size``, counted over the pending frames plus the
transport's write buffer. A send that would exceed it is refused and the socket
is closed on the next tick (only this socket: nothing is awaited, nothing
waits for it). The protocol's own frames (pongs) count against the same budget,
so a ping flood from a client that never reads closes it too. While the
transport is paused (its buffer is above the high water mark),
``reliable=False`` sends are dropped for this socket alone, nothing more is read
from it, and if it stays paused for ``socket.write_wait_ms`` it is dropped.

A fragmented message counts each frame's minimal header (6 bytes) toward
``socket.max_message_size_bytes`` besides its payload, so a flood of empty
continuation frames is closed with 1009 like an oversized message.

Incoming messages are handled one at a time per socket, in order, as Nakama's
read loop does; a socket awaiting a Lua RPC never holds up another socket.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from websockets.exceptions import InvalidState
from websockets.frames import Opcode, apply_mask as _apply_mask
from websockets.http11 import Request as WsRequest
from websockets.protocol import State
from websockets.server import ServerProtocol

from ..streams.presence import PresenceReason
from ..streams.stream import StreamId, StreamMode
from . import pipeline
from .envelope import text_frame
from .errors import CloseCode

if TYPE_CHECKING:
    from .socket_ws import SocketParams

__all__ = ["WebSocketSession"]

log = logging.getLogger("nkhost.socket")

_TEXT = Opcode.TEXT
_BINARY = Opcode.BINARY
_CONT = Opcode.CONT
_OPEN = State.OPEN

# Transport high water mark: above it the socket counts as paused and drops
# unreliable messages. Small against the 1 MiB budget so "paused" means
# "the client is not keeping up", not "a burst is in flight".
_WRITE_HIGH = 64 * 1024
_WRITE_LOW = 16 * 1024

# Incoming messages queued behind a running handler before reading pauses.
_INBOX_PAUSE = 32
_INBOX_RESUME = 8

_PONG_HEAD = 0x8A  # FIN + pong: the protocol answers every ping, so pongs are budgeted
_FRAME_COST = 6  # a masked client frame's smallest header, counted per fragment


class WebSocketSession(asyncio.Protocol):
    """A realtime session: the asyncio protocol of an upgraded connection and a SessionSink."""

    __slots__ = (
        "services",
        "session_id",
        "user_id",
        "username",
        "vars",
        "expiry",
        "lang",
        "client_ip",
        "client_port",
        "last_seen",
        "_loop",
        "_transport",
        "_ws",
        "_limit",
        "_pending",
        "_pending_bytes",
        "_buffered",
        "_flush_scheduled",
        "_paused",
        "_overflowed",
        "_closing",
        "_torn_down",
        "_close_timer",
        "_inbox",
        "_runner",
        "_reading_paused",
        "_fragments",
        "_fragments_size",
        "_stall_timer",
        "_unparsed",
        "_raw",
        "_on_lost",
    )

    def __init__(self, services: Any, session_id: str, params: SocketParams) -> None:
        self.services = services
        self.session_id = session_id
        self.user_id = params.user_id
        self.username = params.username
        self.vars = params.vars
        self.expiry = params.expiry
        self.lang = params.lang
        self.client_ip = params.client_ip
        self.client_port = params.client_port
        self._loop = asyncio.get_running_loop()
        self.last_seen = self._loop.time()
        self._transport: asyncio.Transport | None = None
        config = services.config.socket
        self._ws = ServerProtocol(state=_OPEN, max_size=config.max_message_size_bytes)
        self._limit = config.outgoing_queue_size
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._buffered = 0  # transport write buffer at the last flush (an upper bound until the next)
        self._flush_scheduled = False
        self._paused = False
        self._overflowed = False
        self._closing = False
        self._torn_down = False
        self._close_timer: asyncio.TimerHandle | None = None
        self._inbox: deque[bytes] = deque()
        self._runner: object | None = None  # the inbox task, or pipeline.WAITING while an RPC is out
        self._reading_paused = False
        self._fragments: list[bytes] | None = None  # a fragmented text message being assembled
        self._fragments_size = 0  # its payload plus _FRAME_COST a frame
        self._stall_timer: asyncio.TimerHandle | None = None  # write_wait_ms while paused
        self._unparsed: bytearray | None = None  # the start of a frame not complete yet
        self._raw = False  # every byte goes to ServerProtocol (it is failing the connection)
        self._on_lost: Callable[[Any], None] | None = None

    # Opening (called by the HTTP protocol) ----------------------------------------

    def handshake(
        self,
        transport: asyncio.Transport,
        request: WsRequest,
        status: bool,
        trailing: bytes,
        on_lost: Callable[[Any], None] | None = None,
    ) -> bool:
        """Answer the upgrade request and, on success, register the session.

        The HTTP protocol has already parsed the request and checked the
        token; ``ServerProtocol.accept`` validates the WebSocket headers. On a
        101 the session joins the engine as Nakama's socket_ws.go does:
        register, follow its own user's status, track the notification
        stream (hidden) and, with ``status=true``, the status stream.
        Returns False when the handshake was refused (the transport closes).
        ``on_lost(self)`` is called when the connection is gone.
        """
        self._transport = transport
        self._on_lost = on_lost
        transport.set_protocol(self)
        response = self._ws.accept(request)
        transport.write(response.serialize())
        if response.status_code != 101:
            transport.close()
            return False
        transport.set_write_buffer_limits(high=_WRITE_HIGH, low=_WRITE_LOW)
        services = self.services
        services.sessions.add(self)
        services.status.follow(self.session_id, (self.user_id,))
        services.streams.connect(self)
        streams = services.streams
        streams.user_join(StreamId(StreamMode.NOTIFICATIONS, self.user_id), self.user_id, self.session_id, hidden=True, persistence=False)
        if status:
            streams.user_join(StreamId(StreamMode.STATUS, self.user_id), self.user_id, self.session_id, hidden=False, persistence=False)
        if trailing:
            self.data_received(trailing)
        return True

    # asyncio.Protocol -------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        """Split complete frames off the stream; plain text messages skip the sans-I/O parser.

        A complete, unfragmented, masked text frame without RSV bits, on an open
        connection with no fragmented message in progress, is unmasked here and
        handled directly: the frame is exactly what ``ServerProtocol`` would
        have accepted and produced, at a fifth of the cost (its generator
        parser costs ~5 µs a frame). Every other frame (control frames,
        fragments, anything invalid) goes to ``ServerProtocol`` whole, so its
        parser always sits at a frame boundary and keeps every check: masking,
        opcodes, RSV bits, fragment order, ``max_size`` (1009). A header over
        the size limit, or an unmasked frame, hands the rest of the stream to
        it for good (it fails the connection).
        """
        self.last_seen = self._loop.time()
        ws = self._ws
        if self._unparsed is not None:
            buffer, self._unparsed = self._unparsed, None
            buffer += data
            data = buffer
        if self._raw:
            ws.receive_data(data)
            self._handle_events()
            self._send_protocol_output()
            return
        size = len(data)
        pos = 0
        while size - pos >= 2:
            head = data[pos]
            length = data[pos + 1]
            if not length & 0x80:  # unmasked: the protocol fails it ("incorrect masking")
                self._raw = True
                ws.receive_data(data[pos:])
                self._handle_events()
                pos = size
                break
            length &= 0x7F
            start = pos + 6
            if length == 126:
                if size - pos < 4:
                    break
                length = (data[pos + 2] << 8) | data[pos + 3]
                start = pos + 8
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(data[pos + 2:pos + 10], "big")
                start = pos + 14
            limit = ws.max_message_size
            if limit is not None and length > limit - (ws.current_size or 0):
                self._raw = True  # the protocol closes with 1009 on this header
                ws.receive_data(data[pos:])
                self._handle_events()
                pos = size
                break
            end = start + length
            if end > size:
                break
            if head == 0x81 and ws.state is _OPEN and ws.current_size is None:
                # FIN, no RSV, text: one whole message.
                self._on_message(_apply_mask(data[start:end], data[start - 4:start]))
            else:
                ws.receive_data(data[pos:end])
                if self._handle_events():
                    pos = size
                    break
            pos = end
        if pos < size:
            # Keep the partial frame; a bytearray grows in place as the rest arrives.
            self._unparsed = data if pos == 0 and type(data) is bytearray else bytearray(data[pos:])
        self._send_protocol_output()

    def _handle_events(self) -> bool:
        """Act on the frames ``ServerProtocol`` parsed. True when the socket is being closed."""
        for frame in self._ws.events_received():
            opcode = frame.opcode
            if opcode is _TEXT:
                if frame.fin:
                    self._on_message(frame.data)
                else:
                    self._fragments = [frame.data]
                    self._fragments_size = len(frame.data) + _FRAME_COST
            elif opcode is _CONT and self._fragments is not None:
                # The protocol has checked the sequence and the payload size (max_size);
                # frames count too, or empty ones would pile up without end.
                self._fragments.append(frame.data)
                self._fragments_size += len(frame.data) + _FRAME_COST
                if self._fragments_size > self._ws.max_message_size:  # type: ignore[operator]
                    self._fragments = None
                    self.close(CloseCode.MESSAGE_TOO_BIG, "message too big")
                    return True
                if frame.fin:
                    message, self._fragments = b"".join(self._fragments), None
                    self._on_message(message)
            elif opcode is _BINARY or opcode is _CONT:
                # A JSON session only takes text frames (Nakama: "received unexpected WebSocket message type").
                self.close(CloseCode.NORMAL, "received unexpected WebSocket message type")
                return True
        return False

    def eof_received(self) -> bool | None:
        ws = self._ws
        if self._unparsed is not None:  # a partial frame: let the protocol see it before the EOF
            ws.receive_data(self._unparsed)
            self._unparsed = None
        ws.receive_eof()
        self._send_protocol_output()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        self._closing = True
        self._pending = []
        self._teardown()
        if self._on_lost is not None:
            self._on_lost(self)

    def pause_writing(self) -> None:
        """The client is not keeping up: read nothing more from it until it does, and drop
        it if it stays so for ``socket.write_wait_ms``."""
        self._paused = True
        if not self._reading_paused and self._transport is not None:
            self._reading_paused = True
            self._transport.pause_reading()
        wait = self.services.config.socket.write_wait_ms / 1000
        self._stall_timer = self._loop.call_later(wait, self._write_stalled)

    def resume_writing(self) -> None:
        self._paused = False
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        transport = self._transport
        if transport is not None:
            self._buffered = transport.get_write_buffer_size()
            if self._reading_paused and len(self._inbox) <= _INBOX_RESUME and not self._closing:
                self._reading_paused = False
                transport.resume_reading()

    def _write_stalled(self) -> None:
        self._stall_timer = None
        log.info("dropping session %s: could not write for %.1fs", self.session_id, self.services.config.socket.write_wait_ms / 1000)
        self.abort()

    # SessionSink ------------------------------------------------------------------

    def send(self, data: bytes, reliable: bool = True) -> bool:
        """Queue a ready frame for the next flush. See the module docstring.

        Never blocks and never touches the engine: an overflow schedules the
        close for the next tick.
        """
        if self._closing or self._overflowed:
            return False
        if self._paused and not reliable:
            return False
        size = len(data)
        if self._pending_bytes + self._buffered + size > self._limit and self._overflows(size):
            return False
        self._pending.append(data)
        self._pending_bytes += size
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)
        return True

    def _overflows(self, size: int) -> bool:
        """``size`` more bytes would pass the budget: condemn the socket (closed next tick).

        The cached transport size may be stale (the kernel drained it): look once
        more before condemning it.
        """
        self._buffered = self._transport.get_write_buffer_size() if self._transport is not None else 0
        if self._pending_bytes + self._buffered + size <= self._limit:
            return False
        self._overflowed = True
        log.info("closing session %s: outgoing queue full", self.session_id)
        self._loop.call_soon(self.close, CloseCode.NORMAL, "session outgoing queue full")
        return True

    def send_envelope(self, envelope: dict[str, Any], reliable: bool = True) -> bool:
        """Encode and queue a reply envelope for this socket only."""
        return self.send(text_frame(orjson.dumps(envelope)), reliable)

    # Closing ----------------------------------------------------------------------

    def close(self, code: int = CloseCode.NORMAL, reason: str = "", presence_reason: PresenceReason = PresenceReason.DISCONNECT) -> None:
        """Server-side close: leave the engine now, then a close frame.

        Pending frames go out before the close frame. The transport is
        aborted if the client does not answer within ``socket.close_ack_wait_ms``.
        Safe to call more than once.
        """
        if self._closing:
            return
        self._closing = True
        self._teardown(presence_reason)
        try:
            self._ws.send_close(code, reason)
        except InvalidState:
            pass  # a close handshake is already under way
        self._send_protocol_output()
        if self._transport is not None and not self._transport.is_closing():
            wait = self.services.config.socket.close_ack_wait_ms / 1000
            self._close_timer = self._loop.call_later(wait, self._abort)

    def ping(self) -> None:
        """Send a WebSocket ping frame (keepalive)."""
        if not self._closing:
            try:
                self._ws.send_ping(b"")
            except InvalidState:
                return
            self._send_protocol_output()

    def abort(self) -> None:
        """Drop the connection without a close handshake (dead peer)."""
        self._closing = True
        self._teardown()
        self._abort()

    def _abort(self) -> None:
        self._close_timer = None
        if self._transport is not None:
            self._transport.abort()

    def _teardown(self, presence_reason: PresenceReason = PresenceReason.DISCONNECT) -> None:
        """Nakama's session Close steps 4-6, once: leave every stream, unfollow, unregister."""
        if self._torn_down:
            return
        self._torn_down = True
        self._inbox.clear()
        services = self.services
        if services.sessions.get(self.session_id) is self:
            services.streams.disconnect(self.session_id, presence_reason)
            services.status.unfollow_all(self.session_id)
            services.sessions.remove(self.session_id)

    # Writing ----------------------------------------------------------------------

    def _flush(self) -> None:
        self._flush_scheduled = False
        pending = self._pending
        transport = self._transport
        if not pending or transport is None or transport.is_closing():
            return
        self._pending = []
        self._pending_bytes = 0
        transport.writelines(pending)
        self._buffered = transport.get_write_buffer_size()

    def _send_protocol_output(self) -> None:
        """Write what the sans-I/O protocol produced (pongs, close frames), after pending data.

        An empty chunk is its end-of-stream marker: the server closes TCP first.
        """
        out = self._ws.data_to_send()
        if not out:
            return
        eof = False
        for chunk in out:
            if chunk:
                size = len(chunk)
                if chunk[0] == _PONG_HEAD and (self._overflowed or (
                        self._pending_bytes + self._buffered + size > self._limit and self._overflows(size))):
                    continue  # a pong past the budget (even while closing): dropped, the socket closes
                self._pending.append(chunk)
                self._pending_bytes += size
            else:
                eof = True
        self._flush()
        if eof:
            self._closing = True
            self._teardown()
            if self._transport is not None:
                self._transport.close()

    # Reading ----------------------------------------------------------------------

    def _on_message(self, payload: bytes) -> None:
        if self._closing:
            return
        self._inbox.append(payload)
        if self._runner is None:
            self._pump()
        elif len(self._inbox) >= _INBOX_PAUSE and not self._reading_paused and self._transport is not None:
            self._reading_paused = True
            self._transport.pause_reading()

    def _next(self) -> bytes:
        inbox = self._inbox
        payload = inbox.popleft()
        if self._reading_paused and len(inbox) <= _INBOX_RESUME and not self._paused and self._transport is not None:
            self._reading_paused = False
            self._transport.resume_reading()
        return payload

    def _pump(self) -> None:
        """Handle queued messages in arrival order, one at a time; replies keep that order.

        An RPC waits for its worker without a task (``_runner`` is ``WAITING`` until its
        answer calls ``_answered``); the first other message starts the inbox task, which
        handles it and whatever queues behind it.
        """
        inbox = self._inbox
        while inbox and not self._closing:
            try:
                step = pipeline.start(self.services, self, self._next(), self._answered)
            except Exception:
                log.exception("session %s: message handling failed", self.session_id)
                self.close(CloseCode.NORMAL, "internal error")
                return
            if step is pipeline.WAITING:
                self._runner = step
                return
            if type(step) is str:
                self.close(CloseCode.NORMAL, step)
            elif step is not None:
                self._runner = self._loop.create_task(self._run_inbox(step))
                return

    def _answered(self, reason: str | None) -> None:
        self._runner = None
        if reason is not None:
            self.close(CloseCode.NORMAL, reason)
        self._pump()

    async def _run_inbox(self, first: Awaitable[str | None]) -> None:
        """Handle ``first``, then the queued messages in arrival order."""
        inbox = self._inbox
        try:
            reason = await first
            while reason is None and inbox and not self._closing:
                reason = await pipeline.process(self.services, self, self._next())
            if reason is not None:
                self.close(CloseCode.NORMAL, reason)
        except Exception:
            log.exception("session %s: message handling failed", self.session_id)
            self.close(CloseCode.NORMAL, "internal error")
        finally:
            self._runner = None


