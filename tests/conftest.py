"""Shared fixtures: an in-process nkhost on 127.0.0.1 port 0, and a small WebSocket client.

``start_server(modules={...}, engine="sqlite", **settings)`` writes Lua
modules to a tmp directory, starts an App on a free port with a tmp data_dir
(``engine="postgres"``: a fresh database in the test cluster) and returns it;
every server started is closed when the test ends. ``pg_cluster`` is the
session's throwaway PostgreSQL cluster (``tests/pg.py``); ``engine`` is a
fixture parametrized over both engines and ``new_database(engine)`` opens a
fresh, migrated Database of that engine, closed at the end of the test. ``WsClient`` drives the
server over a real socket with the ``websockets`` sans-I/O client: it can
pause reading (a slow client) and send frames the server must refuse.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import textwrap
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

from host.app import App, build_app, schemas
from host.config import Config
from host.storage import Database
from host.storage.engine import database_for
from host.storage.migrate import migrate
from tests.pg import Cluster, ClusterUnavailable

WAIT = 10.0  # a guard against hangs only: tests await events, never sleep


class WsClient(asyncio.Protocol):
    """A WebSocket client connection; messages arrive parsed in ``messages``."""

    def __init__(self, url: str, raw: bool = False, headers: dict[str, str] | None = None) -> None:
        loop = asyncio.get_running_loop()
        self.protocol = ClientProtocol(parse_uri(url), max_size=None)
        self.raw = raw  # keep messages as bytes
        self.headers = headers or {}  # extra handshake headers
        self.messages: asyncio.Queue[Any] = asyncio.Queue()
        self.opened: asyncio.Future[Response] = loop.create_future()
        self.closed: asyncio.Future[tuple[int | None, str]] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.received_bytes = 0

    @classmethod
    async def connect(
        cls, port: int, query: str = "", raw: bool = False, check: bool = True, rcvbuf: int = 0, headers: dict[str, str] | None = None
    ) -> WsClient:
        """Open and handshake; ``rcvbuf`` shrinks the kernel receive buffer (a slow client)."""
        loop = asyncio.get_running_loop()
        client = cls(f"ws://127.0.0.1:{port}/ws{'?' + query if query else ''}", raw, headers)
        sock = socket.socket()
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.create_connection(lambda: client, sock=sock)
        response = await asyncio.wait_for(client.opened, WAIT)
        if check:
            assert response.status_code == 101, response
        return client

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        request = self.protocol.connect()
        for name, value in self.headers.items():
            request.headers[name] = value
        self.protocol.send_request(request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.received_bytes += len(data)
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                if not self.opened.done():
                    self.opened.set_result(event)
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self.messages.put_nowait(event.data if self.raw else orjson.loads(event.data))
        self._flush()

    def eof_received(self) -> None:
        self.protocol.receive_eof()
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed before the handshake"))
        if not self.closed.done():
            rcvd = self.protocol.close_rcvd
            self.closed.set_result((rcvd.code, rcvd.reason) if rcvd else (None, ""))

    def _flush(self) -> None:
        for chunk in self.protocol.data_to_send():
            if chunk:
                self.transport.write(chunk)  # type: ignore[union-attr]
            elif self.transport is not None and self.transport.can_write_eof():
                self.transport.write_eof()

    # Test API
    def send(self, envelope: Any) -> None:
        self.send_text(orjson.dumps(envelope) if not isinstance(envelope, bytes) else envelope)

    def send_text(self, data: bytes | str) -> None:
        self.protocol.send_text(data.encode() if isinstance(data, str) else data)
        self._flush()

    def send_binary(self, data: bytes) -> None:
        self.protocol.send_binary(data)
        self._flush()

    async def recv(self) -> Any:
        return await asyncio.wait_for(self.messages.get(), WAIT)

    async def request(self, envelope: dict[str, Any]) -> Any:
        self.send(envelope)
        return await self.recv()

    async def wait_closed(self) -> tuple[int | None, str]:
        return await asyncio.wait_for(asyncio.shield(self.closed), WAIT)

    async def close(self) -> None:
        if self.protocol.state is State.OPEN:
            self.protocol.send_close(1000)
            self._flush()
        if self.transport is not None and not self.closed.done():
            try:
                await self.wait_closed()
            finally:
                self.transport.abort()


def lua(code: str) -> str:
    return textwrap.dedent(code).lstrip()


ENGINES = ("sqlite", "postgres")
_databases = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster() -> Any:
    """The session's PostgreSQL cluster; in CI one that cannot start fails, elsewhere skips."""
    try:
        cluster = Cluster()
        cluster.init()
        cluster.start()
    except ClusterUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL tests cannot run in CI: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL not available: {exc}")
    yield cluster
    cluster.destroy()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def database_address(request: pytest.FixtureRequest, engine: str) -> str:
    """``database.address`` for a fresh database of ``engine`` ("" = SQLite in data_dir)."""
    if engine == "sqlite":
        return ""
    cluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"t{os.getpid()}_{next(_databases)}")


@pytest.fixture
async def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Database]]]:
    opened: list[Database] = []

    async def make(engine: str, migrated: bool = True) -> Database:
        config = Config(data_dir=str(tmp_path / f"db{len(opened)}"))
        config.database.address = database_address(request, engine)
        db = database_for(config)
        await db.open()
        opened.append(db)
        if migrated:
            await migrate(db, schemas())
        return db

    yield make
    for db in reversed(opened):
        await db.close()


@pytest.fixture
async def start_server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[App]]]:
    apps: list[App] = []
    clients: list[WsClient] = []
    count = 0

    async def start(
        modules: dict[str, str] | None = None, runtime_factory: Any = None, engine: str = "sqlite", **settings: Any
    ) -> App:
        nonlocal count
        count += 1
        root = tmp_path / f"server{count}"
        modules_dir = root / "modules"
        modules_dir.mkdir(parents=True)
        for name, code in (modules or {}).items():
            (modules_dir / name).write_text(lua(code))
        config = Config()
        config.data_dir = str(root / "data")
        config.database.address = database_address(request, engine)
        config.runtime.path = str(modules_dir)
        config.runtime.hot_reload = False
        config.runtime.lua_pool_size = 2
        config.socket.address = "127.0.0.1"
        config.socket.port = 0
        for key, value in settings.items():
            section, _, name = key.partition("__")
            setattr(getattr(config, section) if name else config, name or section, value)
        app = build_app(config, runtime_factory=runtime_factory)
        await app.start()
        apps.append(app)
        return app

    yield start
    for app in reversed(apps):
        await app.close()


def new_user() -> tuple[str, str]:
    """A fresh (user id, username)."""
    user_id = str(uuid.uuid4())
    return user_id, "u" + user_id[:8]


def token_for(app: App, user_id: str | None = None, username: str = "") -> str:
    """A session token straight from the token service (no account needed for sockets)."""
    if user_id is None:
        user_id, username = new_user()
    return app.services.tokens.issue(user_id, username or "u" + user_id[:8]).token


async def connect(
    app: App, user_id: str | None = None, username: str = "", query: str = "", raw: bool = False, rcvbuf: int = 0,
    headers: dict[str, str] | None = None,
) -> WsClient:
    token = token_for(app, user_id, username)
    return await WsClient.connect(app.port, f"token={token}" + (f"&{query}" if query else ""), raw=raw, rcvbuf=rcvbuf, headers=headers)


async def new_account(app: App, username: str = "") -> tuple[str, str, str]:
    """A real account, made by device authentication over HTTP: (user id, username, session token)."""
    import base64

    from tests.net.helpers import basic, http

    username = username or "p" + uuid.uuid4().hex[:12]
    reply = await http(
        app.port, "POST", f"/v2/account/authenticate/device?create=true&username={username}",
        orjson.dumps({"id": f"device-{uuid.uuid4()}"}), {"Authorization": basic(app.services.config.socket.server_key)},
    )
    assert reply.status == 200, reply.body
    token = reply.json()["token"]
    payload = token.split(".")[1]
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims["uid"], claims["usn"], token


async def connect_as(app: App, token: str, query: str = "") -> WsClient:
    """A socket for an account made with ``new_account``."""
    return await WsClient.connect(app.port, f"token={token}" + (f"&{query}" if query else ""))
