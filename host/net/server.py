"""The listener: one TCP port for HTTP and the realtime socket, plus the keepalive sweep.

Every accepted connection starts as an ``HttpProtocol``; ``/ws`` upgrades hand
it to a ``WebSocketSession``. The server tracks live connections so shutdown
can close them all and wait until they are gone.

Keepalive is one timer for the whole server rather than one per socket: every
``socket.ping_period_ms`` each session gets a WebSocket ping frame, and a
session that sent nothing (no pong, no message) for ``socket.pong_wait_ms``
is dropped. A dead peer is therefore noticed between ``pong_wait_ms`` and
``pong_wait_ms + ping_period_ms``.

HTTP connections are swept the same way, on a second timer ticking every second
(or at half the shorter of ``socket.read_timeout_ms`` and ``idle_timeout_ms``
when that is sooner): each notes what it waits for in ``deadline``, and the
sweep starts its clock and closes those past it (slow or idle clients).

At most ``socket.max_connections`` connections are open at once; past it a new
one gets a 503 and is closed, with one warning each time the limit is reached.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .errors import CloseCode
from .http_protocol import IDLE, READING, HttpProtocol

__all__ = ["Server"]

log = logging.getLogger("nkhost.server")


class Server:
    __slots__ = ("services", "_server", "_connections", "_idle", "_keepalive", "_http_sweep", "_full")

    def __init__(self, services: Any) -> None:
        self.services = services
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Protocol] = set()
        self._idle: asyncio.Event | None = None
        self._keepalive: asyncio.TimerHandle | None = None
        self._http_sweep: asyncio.TimerHandle | None = None
        self._full = False  # at socket.max_connections (warned once until a connection is accepted again)

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
        self._schedule_http_sweep()
        log.info("listening on %s:%d", config.address, self.port)

    def stop_accepting(self) -> None:
        if self._server is not None:
            self._server.close()
        for timer in (self._keepalive, self._http_sweep):
            if timer is not None:
                timer.cancel()
        self._keepalive = self._http_sweep = None

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

    def connection_opened(self, conn: asyncio.Protocol) -> bool:
        """Track ``conn``; False when ``socket.max_connections`` are open (it is refused)."""
        connections = self._connections
        limit = self.services.config.socket.max_connections
        if len(connections) >= limit:
            if not self._full:
                self._full = True
                log.warning("connection limit reached: %d connections open (socket.max_connections), refusing new ones", limit)
            return False
        if self._full:
            self._full = False
            log.info("accepting connections again: %d open", len(connections))
        connections.add(conn)
        return True

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

    def _schedule_http_sweep(self) -> None:
        config = self.services.config.socket
        # At most a second late: the sweep is one pass over the connections, cheap at this rate.
        period = min(1.0, min(config.read_timeout_ms, config.idle_timeout_ms) / 2000)
        self._http_sweep = asyncio.get_running_loop().call_later(period, self._sweep_http)

    def _sweep_http(self) -> None:
        """Start the clock of connections newly waiting (READING, IDLE); close the late ones."""
        config = self.services.config.socket
        now = asyncio.get_running_loop().time()
        late = []
        for conn in self._connections:
            if type(conn) is HttpProtocol:
                deadline = conn.deadline
                if deadline > 0.0:
                    if deadline < now:
                        late.append(conn)
                elif deadline == READING:
                    conn.deadline = now + config.read_timeout_ms / 1000
                elif deadline == IDLE:
                    conn.deadline = now + config.idle_timeout_ms / 1000
        for conn in late:
            conn.timed_out()
        self._schedule_http_sweep()
