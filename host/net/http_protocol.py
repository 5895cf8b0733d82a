"""HTTP/1.1 on the realtime port: httptools parsing, keep-alive, and the ``/ws`` upgrade.

Every connection starts here. Requests are parsed by ``httptools`` and
answered in order by ``api.dispatch`` (pipelined requests wait their turn, so
responses never interleave). An upgrade request to ``/ws`` is checked by
``socket_ws.check_socket_request`` (format, then token: 401 before any
upgrade); once accepted, the transport is handed to a ``WebSocketSession``
together with any bytes that followed the request.

Malformed HTTP gets a 400 and the connection closes. A body over
``socket.max_request_size_bytes`` is not buffered: the request is marked
``body_too_large`` and the connection closes after the answer.
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

__all__ = ["HttpProtocol", "serialize_response", "parse_query"]

log = logging.getLogger("nkhost.http")

_parse_url = httptools.parse_url
_METHODS = {m.encode(): m for m in ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH")}

_REASONS = {s.value: s.phrase for s in HTTPStatus}
_REASONS[499] = "Client Closed Request"


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
    """A parsed request waiting for its turn."""

    __slots__ = ("request", "url", "keep_alive", "upgrade")

    def __init__(self, request: Request, url: bytes, keep_alive: bool, upgrade: bool) -> None:
        self.request = request
        self.url = url
        self.keep_alive = keep_alive
        self.upgrade = upgrade


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

    # asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self._client = (str(peer[0]), str(peer[1]))
        self.server.connection_opened(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._queue.clear()
        self.server.connection_closed(self)

    def data_received(self, data: bytes) -> None:
        if self._tail is not None:
            self._tail += data  # the upgrade is being decided; keep the frames for the socket
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._tail = bytearray(data[exc.args[0]:])
        except httptools.HttpParserError:
            self._fail()

    # httptools callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._body = []
        self._body_size = 0
        self._too_large = False

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
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
        raw_headers = self._headers
        headers: dict[str, str] = {}
        for name, value in raw_headers:
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
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
        if self._runner is None:
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
            if self._upgrading(item):
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
                if self._upgrading(item):
                    return
                response = await api.dispatch(self.services, item.request)
        finally:
            self._runner = None

    def _upgrading(self, item: _Pending) -> bool:
        request = item.request
        if item.upgrade and request.path == "/ws" and request.headers.get("upgrade", "").lower() == "websocket":
            self._upgrade(item)
            return True
        return False

    def _respond(self, item: _Pending, response: Response) -> bool:
        """Write the response to ``item``; False when the connection is done with."""
        transport = self._transport
        if transport is None or transport.is_closing():
            return False
        # After an upgrade request the parser is stopped: nothing more can be read.
        keep_alive = item.keep_alive and not item.upgrade and not self._draining
        transport.write(serialize_response(response, keep_alive, item.request.method == "HEAD"))
        if not keep_alive:
            transport.close()
            return False
        return True

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

    def _fail(self) -> None:
        """Malformed HTTP: 400 and close, as Go's server does."""
        self._queue.clear()
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.write(serialize_response(text_error(400, "Bad Request"), keep_alive=False))
            transport.close()
