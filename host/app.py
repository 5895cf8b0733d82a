"""The composition root: build every component once, start and stop them in order.

``build_app(config)`` wires the engine, the database, the built-in features
(``host/features``), the Lua runtime, accounts and the server in dependency
order and does no I/O: each feature's socket doors, routes and nk functions are
registered here. ``await app.start()`` opens the database and applies every
pending migration (``schemas()``), starts the features, loads the Lua modules,
then listens: once the port answers, the server is ready
(``GET /healthcheck``). ``await app.close()`` undoes ``start`` in reverse,
written once here:

1. stop accepting connections;
2. close the features, in reverse order, while their sockets are still open;
3. close every socket with a close frame (1001): each session leaves its
   streams as a disconnect, so the others receive their presence leaves;
   wait for the clients' close frames (at most ``socket.close_ack_wait_ms``);
4. close the runtime (Lua ``register_shutdown`` callbacks, then the VMs);
5. close the database.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .accounts import store as account_store
from .config import Config, insecure_defaults
from .features import Feature, build_features, feature_schemas, nk_functions
from .net.api import CORE_ROUTES, RouteTable
from .net.envelope import encode_frame
from .net.host_ops import host_ops
from .net.pipeline import CORE_DOORS, SocketDoors
from .net.server import Server
from .net.session_registry import SessionRegistry
from .net.static import routes as static_routes
from .features.status.registry import StatusRegistry
from .net.tokens import TokenService
from .storage import Database, Schema
from .storage.engine import database_for
from .storage.migrate import migrate
from .streams import MODE_STATUS, MemoryTracker, Router, StreamManager, Tracker

__all__ = ["Services", "App", "build_app", "schemas"]

log = logging.getLogger("nkhost")


@dataclass(slots=True)
class Services:
    """What handlers and components reach: one bundle instead of many parameters."""

    config: Config
    tracker: Tracker
    router: Router
    streams: StreamManager
    status: StatusRegistry
    sessions: SessionRegistry
    tokens: TokenService
    database: Database
    store: account_store.AccountStore
    runtime: Any = None
    features: dict[str, Any] = field(default_factory=dict)  # name -> core, for features and nk functions
    doors: SocketDoors = field(default_factory=lambda: SocketDoors(CORE_DOORS))
    routes: RouteTable = field(default_factory=lambda: RouteTable(CORE_ROUTES))


class App:
    __slots__ = ("services", "server", "features", "_stack", "_open_features")

    def __init__(self, services: Services, server: Server, features: list[Feature] | None = None) -> None:
        self.services = services
        self.server = server
        self.features = list(features or [])
        self._stack: contextlib.AsyncExitStack | None = None
        self._open_features: list[Feature] = []

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self) -> None:
        """Open and migrate the database, load the runtime, listen. Raises LoadError for bad
        Lua modules, DatabaseError for a database that cannot serve or be migrated."""
        services = self.services
        for key in insecure_defaults(services.config):
            log.warning("WARNING: insecure default parameter value, change this for production! param=%s", key)
        async with contextlib.AsyncExitStack() as stack:
            Path(services.config.data_dir).mkdir(parents=True, exist_ok=True)
            await services.database.open()
            stack.push_async_callback(services.database.close)
            for feature, version in await migrate(services.database, schemas()):
                log.info("database migrated: %s %d", feature, version)
            stack.push_async_callback(self._close_features)
            for feature in self.features:
                if feature.start is not None:
                    await feature.start()
                self._open_features.append(feature)
            if services.runtime is not None:
                await services.runtime.start()
                stack.push_async_callback(services.runtime.close)
            await self.server.start()
            stack.push_async_callback(self._close_server)
            self._stack = stack.pop_all()

    async def close(self) -> None:
        """Shut down in the order of the module docstring; safe to call twice."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    async def _close_server(self) -> None:
        self.server.stop_accepting()
        await self._close_features()
        await self.server.close_connections(self.services.config.socket.close_ack_wait_ms / 1000)

    async def _close_features(self) -> None:
        """Each started feature's close, newest first, once; a failure is logged, not fatal."""
        while self._open_features:
            feature = self._open_features.pop()
            if feature.close is not None:
                try:
                    await feature.close()
                except Exception:
                    log.exception("feature %s failed to close", feature.name)


def build_app(config: Config, *, runtime_factory: Callable[[Services], Any] | None = None) -> App:
    """Wire the components; no I/O. ``runtime_factory`` replaces the Lua runtime (tests)."""
    status = StatusRegistry()
    tracker = MemoryTracker(config.name)
    # Status-stream events go to the followers of the stream's user, not to its members.
    router = Router(tracker, encode_frame, event_recipients={MODE_STATUS: status.recipients})
    streams = StreamManager(tracker, router)
    services = Services(
        config=config,
        tracker=tracker,
        router=router,
        streams=streams,
        status=status,
        sessions=SessionRegistry(),
        tokens=TokenService.from_config(config),
        database=(database := database_for(config)),
        store=account_store.AccountStore(database),
    )
    features = build_features(services)
    services.doors = SocketDoors(_merged("socket message", [CORE_DOORS, *(f.socket for f in features)]))
    services.routes = RouteTable([*CORE_ROUTES, *static_routes(config.web.static_dir), *(route for f in features for route in f.routes)])
    services.runtime = (runtime_factory or _lua_runtime)(services)
    return App(services, Server(services), features)


def schemas() -> list[Schema]:
    """Every table the server needs: accounts', then each feature's, in build order."""
    return [account_store.SCHEMA, *feature_schemas()]


def _merged(what: str, tables: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for table in tables:
        for key, value in table.items():
            if key in out:
                raise ValueError(f"{what} {key!r} is handled twice")
            out[key] = value
    return out


def _lua_runtime(services: Services) -> Any:
    from .runtime import Runtime

    config = services.config
    return Runtime(
        config.runtime, services.streams, node=config.name, host=host_ops(services),
        functions=nk_functions(), features=services.features,
    )
