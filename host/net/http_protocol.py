"""HTTP/1.1 on the realtime port: httptools parsing, keep-alive, and the ``/ws`` upgrade.

Every connection starts here. Requests are parsed by ``httptools`` and
answered in order by ``api.dispatch`` (pipelined requests wait their turn, so
responses never interleave). An upgrade request to ``/ws`` is checked by
``socket_ws.check_socket_request`` (format, then token: 401 before any
upgrade); once accepted, the transport is handed to a ``WebSocketSession``
together with any bytes that followed the request.

Malformed HTTP gets a 400 and the connection closes, after the answers to the
requests before it. A body over ``socket.max_request_size_bytes`` is not
buffered: the request is marked ``body_too_large`` and the connection closes
after the answer. A request line or header block past ``socket.max_url_bytes``,
``max_header_bytes`` or ``max_header_count`` is refused the same way with 414
or 431, before more of it is buffered.

Flow control, so a client that sends but never reads cannot grow the server:
answering stops while the transport's write buffer is above its high-water mark
(the client is not taking the responses), and reading stops while it is or
while ``_QUEUE_MAX`` parsed requests wait; big reads are parsed in slices so a
single read cannot queue thousands of requests. A connection whose responses
stay unread for ``socket.write_timeout_ms`` is dropped.

Timeouts (Nakama's HTTP server keys): a request must arrive whole within
``socket.read_timeout_ms`` of its first byte (the first one, of the
connection), and a keep-alive connection with nothing to do is closed after
``socket.idle_timeout_ms``. Each connection only notes what it waits for in
``deadline`` (``READING`` or ``IDLE``); the server's sweep, once a second,
turns that into a time and closes the late ones, so the hot path stores a float
per request instead of reading the clock or arming timers (a timeout is
therefore up to a second late).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable
from functools import partial
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

import httptools
from websockets.datastructures import Headers
from websockets.http11 import Request as WsRequest

from ..streams.node import new_session_id
from . import api
from .http import Request, Response, client_address, text_error
from .socket import WebSocketSession
from .socket_ws import check_socket_request

if TYPE_CHECKING:
    from .server import Server

__all__ = ["HttpProtocol", "serialize_response", "parse_query", "READING", "IDLE"]

log = logging.getLogger("nkhost.http")

_parse_url = httptools.parse_url
_METHODS = {m.encode(): m for m in ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH")}

_REASONS = {s.value: s.phrase for s in HTTPStatus}
_REASONS[499] = "Client Closed Request"

_QUEUE_MAX = 32  # parsed requests waiting for their answer before reading pauses
_QUEUE_RESUME = 8
_SLICE = 16 * 1024  # bytes parsed at a time from a big read (at most ~900 tiny requests)
READING = -1.0  # deadline: a request is awaited or arriving (socket.read_timeout_ms)
IDLE = -2.0  # deadline: a keep-alive connection with nothing to do (socket.idle_timeout_ms)
_LINGER = 0.5  # after a refusal, how long the rest of the client's bytes are read and dropped


class _Refused(Exception):
    """Raised from a parser callback to stop parsing: the request is refused with ``response``."""

    def __init__(self, response: Response) -> None:
        self.response = response


def parse_query(query: str) -> dict[str, list[str]]:
    """``parse_qs(query, keep_blank_values=True)``, with a fast path for plain queries.

    Without ``%`` or ``+`` there is nothing to unquote, so the split is all of
    it (~1 µs against ~6 µs for parse_qs on ``http_key=...``).
    """
    if "%" in query or "+" in query:
        return parse_qs(query, keep_blank_values=True)
    out: dict[str, list[str]] = {}
    for item in query.split("&"):
        if item:
            name, _, value = item.partition("=")
            values = out.get(name)
            if values is None:
                out[name] = [value]
            else:
                values.append(value)
    return out


def serialize_response(response: Response, keep_alive: bool, head: bool = False) -> bytes:
    """The status line, headers and body of a response."""
    status = response.status
    body = response.body
    parts = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"]
    if response.content_type:
        parts.append(f"Content-Type: {response.content_type}\r\n")
    parts.append(f"Content-Length: {len(body)}\r\n")
    for name, value in response.headers:
        parts.append(f"{name}: {value}\r\n")
    if not keep_alive:
        parts.append("Connection: close\r\n")
    parts.append("\r\n")
    head_bytes = "".join(parts).encode("latin-1")
    return head_bytes if head else head_bytes + body


class _Pending:
    """A parsed request waiting for its turn, or (``refusal``) the answer to a bad one."""

    __slots__ = ("request", "url", "keep_alive", "upgrade", "refusal")

    def __init__(self, request: Request, url: bytes, keep_alive: bool, upgrade: bool, refusal: Response | None = None) -> None:
        self.request = request
        self.url = url
        self.keep_alive = keep_alive
        self.upgrade = upgrade
        self.refusal = refusal


class HttpProtocol(asyncio.Protocol):
    __slots__ = (
        "server",
        "services",
        "_loop",
        "_transport",
        "_parser",
        "_max_body",
        "_client",
        "_url",
        "_headers",
        "_body",
        "_body_size",
        "_too_large",
        "_queue",
        "_runner",
        "_tail",
        "_draining",
        "_max_url",
        "_max_head",
        "_max_count",
        "_head_size",
        "_head_streamed",
        "_in_head",
        "_in_message",
        "_refused",
        "_backlog",
        "_reading_paused",
        "_resume_scheduled",
        "_write_paused",
        "_write_timer",
        "deadline",
    )

    def __init__(self, server: Server) -> None:
        self.server = server
        self.services: Any = server.services
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._max_body = self.services.config.socket.max_request_size_bytes
        self._client: tuple[str, str] = ("", "")  # the TCP peer
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._body_size = 0
        self._too_large = False
        self._queue: deque[_Pending] = deque()
        self._runner: object | None = None  # the answering task, or api.WAITING while an RPC is out
        self._tail: bytearray | None = None  # bytes after an upgrade request, for the WebSocket
        self._draining = False  # shutdown: answer what is in flight, then close
        config = self.services.config.socket
        self._max_url = config.max_url_bytes
        self._max_head = config.max_header_bytes
        self._max_count = config.max_header_count
        self._head_size = 0  # request target plus complete header lines of the request being read
        self._head_streamed = 0  # bytes read while its head was incomplete (a header still growing)
        self._in_head = False
        self._in_message = False
        self._refused = False  # a bad request was met: nothing after it is parsed
        self._backlog: bytes | None = None  # read but not parsed yet: the queue was full
        self._reading_paused = False
        self._resume_scheduled = False
        self._write_paused = False
        self._write_timer: asyncio.TimerHandle | None = None
        # Loop time after which the server's sweep closes the connection; READING or IDLE until
        # the sweep has seen it; 0.0 while a request is being answered (no timeout).
        self.deadline = READING

    # asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self._client = (str(peer[0]), str(peer[1]))
        if not self.server.connection_opened(self):
            transport.write(serialize_response(text_error(503, "Service Unavailable"), keep_alive=False))  # type: ignore[attr-defined]
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._queue.clear()
        self._backlog = None
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        self.server.connection_closed(self)

    def data_received(self, data: bytes) -> None:
        if self._tail is not None:
            self._tail += data  # the upgrade is being decided; keep the frames for the socket
            return
        if self._refused:
            return
        if len(data) <= _SLICE:
            self._feed(data)
        else:
            self._feed_slices(data)

    def _feed(self, data: bytes) -> bool:
        """Parse ``data``. False: parsing stopped (an upgrade, or a refused request)."""
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._tail = bytearray(data[exc.args[0]:])
            return False
        except httptools.HttpParserError as exc:
            refused = exc.__context__
            self._refuse(refused.response if isinstance(refused, _Refused) else text_error(400, "Bad Request"))
            return False
        if self._in_head:
            # A header name or value still growing inside the parser: bound it too.
            self._head_streamed += len(data)
            if self._head_streamed > self._max_head + _SLICE:
                self._refuse(_too_large_head())
                return False
        return True

    def _feed_slices(self, data: bytes) -> None:
        """A big read, a slice at a time; once the queue is full the rest waits in ``_backlog``."""
        pos = 0
        size = len(data)
        while pos < size:
            end = min(pos + _SLICE, size)
            if not self._feed(data[pos:end]):
                if self._tail is not None:
                    self._tail += data[end:]
                return
            pos = end
            if pos < size and len(self._queue) >= _QUEUE_MAX:
                self._backlog = data[pos:]
                self._pause_reading()
                return

    # httptools callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._body = []
        self._body_size = 0
        self._too_large = False
        self._head_size = self._head_streamed = 0
        self._in_head = self._in_message = True
        self.deadline = READING

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self._max_url:
            raise _Refused(text_error(414, "URI Too Long"))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4  # "name: value\r\n"
        if len(self._headers) >= self._max_count or self._head_size + len(self._url) > self._max_head:
            raise _Refused(_too_large_head())
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
        # The head is complete (cleared here, not in an on_headers_complete callback: one
        # Python call less for every request without a body).
        self._in_head = False
        self._body_size += len(body)
        if self._body_size > self._max_body:
            self._too_large = True
            self._body = []
        elif not self._too_large:
            self._body.append(body)

    def on_message_complete(self) -> None:
        parser = self._parser
        url = self._url
        parsed = _parse_url(url)
        self._in_head = self._in_message = False
        self.deadline = 0.0
        raw_headers = self._headers
        headers: dict[str, str] = {}
        repeated: dict[str, list[str]] | None = None
        for name, value in raw_headers:
            key = name.lower()
            if key in headers:
                # Joined once below: folding as they come is quadratic in the repeats.
                if repeated is None:
                    repeated = {}
                repeated.setdefault(key, [headers[key]]).append(value)
            else:
                headers[key] = value
        if repeated is not None:
            for key, values in repeated.items():
                headers[key] = ", ".join(values)
        method = parser.get_method()
        path = parsed.path
        query = parsed.query
        body = self._body
        ip, port = client_address(headers, self._client)
        request = Request(
            _METHODS.get(method) or method.decode("ascii"),
            unquote(path.decode("latin-1")) if path else "/",
            parse_query(query.decode("latin-1")) if query else {},
            headers,
            body[0] if len(body) == 1 else b"".join(body),
            ip,
            port,
            {},
            raw_headers,
            self._too_large,
        )
        keep_alive = parser.should_keep_alive() and not self._too_large
        self._queue.append(_Pending(request, url, keep_alive, parser.should_upgrade()))
        if self._runner is None and not self._write_paused:
            self._pump()

    # Answering ----------------------------------------------------------------------

    def _pump(self) -> None:
        """Answer the queued requests in order, one at a time.

        An RPC waits for its worker without a task (``_runner`` is ``api.WAITING`` until its
        answer calls ``_answered``); the first other request starts the answering task, which
        answers it and whatever queues behind it.
        """
        queue = self._queue
        while queue:
            item = queue.popleft()
            if self._reading_paused:
                self._resume_reading_soon()
            if self._special(item):
                return
            step = api.start(self.services, item.request, partial(self._answered, item))
            if step is api.WAITING:
                self._runner = step
                return
            if type(step) is not Response:
                self._runner = self._loop.create_task(self._answer_queue(item, step))
                return
            if not self._respond(item, step):
                return

    def _answered(self, item: _Pending, response: Response) -> None:
        self._runner = None
        if self._respond(item, response):
            self._pump()

    async def _answer_queue(self, item: _Pending, first: Awaitable[Response]) -> None:
        """Answer ``item`` with ``first``'s response, then the queued requests in order."""
        try:
            response = await first
            while self._respond(item, response) and self._queue:
                item = self._queue.popleft()
                if self._reading_paused:
                    self._resume_reading_soon()
                if self._special(item):
                    return
                response = await api.dispatch(self.services, item.request)
        finally:
            self._runner = None

    def _special(self, item: _Pending) -> bool:
        """Handle a refusal or a WebSocket upgrade; True when ``item`` was one (answering ends)."""
        if item.refusal is not None:
            transport = self._transport
            if transport is not None and not transport.is_closing():
                transport.write(serialize_response(item.refusal, keep_alive=False))
                self._linger(transport)
            return True
        request = item.request
        if item.upgrade and request.path == "/ws" and request.headers.get("upgrade", "").lower() == "websocket":
            try:
                self._upgrade(item)
            except Exception:
                log.exception("websocket upgrade failed")
                if self._transport is not None:
                    self._transport.abort()
            return True
        return False

    def _respond(self, item: _Pending, response: Response) -> bool:
        """Write the response to ``item``; False when answering stops (closed, or the client
        is not reading: ``resume_writing`` answers the rest)."""
        transport = self._transport
        if transport is None or transport.is_closing():
            return False
        # After an upgrade request the parser is stopped: nothing more can be read.
        keep_alive = item.keep_alive and not item.upgrade and not self._draining
        transport.write(serialize_response(response, keep_alive, item.request.method == "HEAD"))
        if not keep_alive:
            transport.close()
            return False
        if not self._queue and not self._in_message:
            self.deadline = IDLE
        return not self._write_paused

    def _upgrade(self, item: _Pending) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        services = self.services
        checked = check_socket_request(services, item.request)
        if isinstance(checked, Response):
            transport.write(serialize_response(checked, keep_alive=False))
            transport.close()
            return
        session = WebSocketSession(services, new_session_id(services.config.name), checked)
        ws_request = WsRequest(item.url.decode("latin-1"), Headers(item.request.raw_headers))
        tail = bytes(self._tail or b"")
        self._tail = None
        self.server.connection_upgraded(self, session)
        session.handshake(transport, ws_request, checked.status, tail, self.server.connection_closed)

    # Shutdown (called by the server) ------------------------------------------------

    def close(self) -> None:
        """Close now if idle, else after the response in flight."""
        self._draining = True
        if self._runner is None and self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def timed_out(self) -> None:
        """The sweep found ``deadline`` passed: a request too slow to arrive, or an idle
        keep-alive connection. Closed without an answer, as Go's server does."""
        log.debug("closing HTTP connection from %s:%s: %s", *self._client, "idle" if not self._in_message else "request not read in time")
        self.deadline = 0.0
        self._close_now()

    def _close_now(self) -> None:
        transport = self._transport
        if transport is not None:
            # Nothing to flush: a FIN. Unread bytes would hold close() up forever: a reset.
            if transport.get_write_buffer_size():
                transport.abort()
            else:
                transport.close()

    def _linger(self, transport: asyncio.Transport) -> None:
        """Close after a refusal as Go's server does (closeWriteAndWait): end our side, then
        read and drop what the client still sends for a moment, so closing with its bytes
        unread does not reset the connection before it has read the answer."""
        if not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        if self._reading_paused:
            self._reading_paused = False
            transport.resume_reading()
        self._loop.call_later(_LINGER, self._close_now)

    def _refuse(self, response: Response) -> None:
        """A bad request (malformed, or over a limit): answer the requests before it, then
        ``response``, then close, as Go's server does. Nothing after it is read."""
        self._refused = True  # what follows is read and dropped
        self._backlog = None
        self._queue.append(_Pending(Request("", ""), b"", False, False, response))
        if self._runner is None and not self._write_paused:
            self._pump()

    # Flow control -----------------------------------------------------------------

    def pause_writing(self) -> None:
        """The client is not taking the responses: stop answering and reading."""
        self._write_paused = True
        self._pause_reading()
        wait = self.services.config.socket.write_timeout_ms / 1000
        self._write_timer = self._loop.call_later(wait, self._write_stalled)

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        if self._reading_paused and len(self._queue) <= _QUEUE_RESUME:
            self._resume_reading_soon()
        if self._runner is None and self._queue:
            self._pump()

    def _write_stalled(self) -> None:
        self._write_timer = None
        log.info("dropping HTTP connection from %s:%s: responses not read for %.1fs", *self._client,
                 self.services.config.socket.write_timeout_ms / 1000)
        self.abort()

    def _pause_reading(self) -> None:
        if not self._reading_paused and self._transport is not None:
            self._reading_paused = True
            self._transport.pause_reading()

    def _resume_reading_soon(self) -> None:
        """Called as the queue drains; resumes on the next tick, outside the answering loop,
        so parsing the backlog never nests inside it."""
        if not self._resume_scheduled and not self._write_paused and not self._refused and len(self._queue) <= _QUEUE_RESUME:
            self._resume_scheduled = True
            self._loop.call_soon(self._resume_reading)

    def _resume_reading(self) -> None:
        self._resume_scheduled = False
        transport = self._transport
        if not self._reading_paused or self._write_paused or self._refused or transport is None or transport.is_closing():
            return
        backlog, self._backlog = self._backlog, None
        if backlog is not None:
            self.data_received(backlog)
            if self._backlog is not None or self._refused or self._tail is not None:
                return  # still full (or done reading): stay paused
        self._reading_paused = False
        transport.resume_reading()


def _too_large_head() -> Response:
    return text_error(431, "Request Header Fields Too Large")
