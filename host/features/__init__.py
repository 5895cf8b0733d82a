"""Built-in features, one package each, on top of the stream engine and the database layer.

A feature package ``host/features/<name>/`` holds:

* its **core** (``core.py``, and more modules as it grows): the feature's rules and state.
  It uses the stream engine (``host.streams``) and the database layer (``host.storage``),
  raises ``host.errors.ApiError`` with Nakama's codes and texts, and knows nothing of
  sockets, HTTP or Lua. Envelopes it pushes are plain dicts handed to the engine's Router.
  State that several nodes will share later sits behind a small interface (a Protocol with
  an in-memory engine), as the Tracker does.
* thin **doors** onto that core, each only translating its wire form:
  ``socket.py`` (realtime messages: ``SocketDoor``s by envelope key), ``rest.py``
  (``Route``s) and ``nk.py`` (``NK``: nk function name -> ``fn(bridge, *lua_args)``; the
  function finds the core with ``bridge.feature(fname, NAME)``).
* ``build(services) -> Feature`` in its ``__init__.py``, wiring the core and its doors, and
  ``NK`` re-exported there; ``SCHEMA`` there too when the feature has tables (a
  ``host.storage.Schema``: its migrations, applied at start and by ``nkhost migrate``).

``host/app.py`` builds every feature listed in ``PACKAGES`` and registers its doors; the
engine never imports a feature. The nk functions are a static table (``nk_functions``),
so ``nkhost check`` binds the same names without a server.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Feature", "PACKAGES", "build_features", "nk_functions", "feature_schemas"]

PACKAGES: tuple[str, ...] = (
    "storage", "status", "notifications", "users", "friends", "groups", "chat", "accounts", "wallets", "parties", "matches",
)
"""The built-in feature packages under host.features, in build order (a feature may use
the cores of those built before it, through ``services.features``)."""


@dataclass(slots=True)
class Feature:
    """What one feature hands the composition root."""

    name: str
    core: Any
    socket: Mapping[str, Any] = field(default_factory=dict)  # envelope key -> host.net.pipeline.SocketDoor
    routes: Sequence[Any] = ()  # host.net.api.Route
    start: Callable[[], Awaitable[None]] | None = None  # after the database opened, before Lua loads
    close: Callable[[], Awaitable[None]] | None = None  # at shutdown, while sockets are still open


def _modules() -> list[Any]:
    return [importlib.import_module(f"{__name__}.{name}") for name in PACKAGES]


def nk_functions() -> dict[str, Callable[..., Any]]:
    """Every feature's nk functions; a name defined twice is an error."""
    out: dict[str, Callable[..., Any]] = {}
    for module in _modules():
        for name, fn in getattr(module, "NK", {}).items():
            if name in out:
                raise ValueError(f"nk.{name} is defined by two features")
            out[name] = fn
    return out


def feature_schemas() -> list[Any]:
    """Each feature's ``SCHEMA`` (host.storage.Schema), in build order."""
    return [module.SCHEMA for module in _modules() if getattr(module, "SCHEMA", None) is not None]


def build_features(services: Any) -> list[Feature]:
    """Build each feature in order; each core is visible in ``services.features`` to the next."""
    built = []
    for module in _modules():
        feature = module.build(services)
        services.features[feature.name] = feature.core
        built.append(feature)
    return built
