"""The listener: one TCP port for HTTP and the realtime socket, plus the keepalive sweep.

Every accepted connection starts as an ``HttpProtocol``; ``/ws`` upgrades hand
it to a ``WebSocketSession``. The server tracks live connections so shutdown
can close them all and wait until they are gone.

Keepalive is one timer for the whole server rather than one per socket: every
``socket.ping_period_ms`` each session gets a WebSocket ping frame, and a
session that sent nothing (no pong, no message) for ``socket.pong_wait_ms``
is dropped. A dead peer is therefore noticed between ``pong_wait_ms`` and
``pong_wait_ms + ping_period_ms``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .errors import CloseCode
from .http_protocol import HttpProtocol

__all__ = ["Server"]

log = logging.getLogger("nkhost.server")


class Server:
    __slots__ = ("services", "_server", "_connections", "_idle", "_keepalive")

    def __init__(self, services: Any) -> None:
        self.services = services
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Protocol] = set()
        self._idle: asyncio.Event | None = None
        self._keepalive: asyncio.TimerHandle | None = None

    @property
    def port(self) -> int:
        """The bound port (useful with ``socket.port = 0``)."""
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        config = self.services.config.socket
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: HttpProtocol(self), config.address, config.port, reuse_address=True, backlog=1024
        )
        self._schedule_keepalive()
        log.info("listening on %s:%d", config.address, self.port)

    def stop_accepting(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None

    async def close_connections(self, timeout: float) -> None:
        """Close every socket with 1001 (their presence leaves flow) and idle HTTP connections.

        Waits until every connection is gone or ``timeout`` seconds have passed,
        then aborts what is left.
        """
        for session in self.services.sessions:
            session.close(CloseCode.GOING_AWAY, "server shutdown")
        for conn in list(self._connections):
            if isinstance(conn, HttpProtocol):
                conn.close()
        if self._connections:
            self._idle = asyncio.Event()
            try:
                await asyncio.wait_for(self._idle.wait(), timeout)
            except TimeoutError:
                for conn in list(self._connections):
                    conn.abort()  # type: ignore[attr-defined]
        if self._server is not None:
            await self._server.wait_closed()

    # Connection tracking (called by the protocols) --------------------------------

    def connection_opened(self, conn: asyncio.Protocol) -> None:
        self._connections.add(conn)

    def connection_upgraded(self, old: asyncio.Protocol, new: asyncio.Protocol) -> None:
        self._connections.discard(old)
        self._connections.add(new)

    def connection_closed(self, conn: asyncio.Protocol) -> None:
        self._connections.discard(conn)
        if not self._connections and self._idle is not None:
            self._idle.set()

    # Keepalive --------------------------------------------------------------------

    def _schedule_keepalive(self) -> None:
        period = self.services.config.socket.ping_period_ms / 1000
        self._keepalive = asyncio.get_running_loop().call_later(period, self._sweep)

    def _sweep(self) -> None:
        now = asyncio.get_running_loop().time()
        deadline = self.services.config.socket.pong_wait_ms / 1000
        for session in self.services.sessions:
            if now - session.last_seen > deadline:
                log.info("session %s: no pong within %.1fs", session.session_id, deadline)
                session.abort()
            else:
                session.ping()
        self._schedule_keepalive()
