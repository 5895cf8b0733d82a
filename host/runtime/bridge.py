"""What nk functions of one VM reach outside Lua, and the argument checks they share.

Every stream operation runs on the loop thread (the engine is single-threaded). A worker
reaches it through its outbox: fire-and-forget operations with ``post``, ones that need an
answer with ``ask`` (the worker blocks until the loop answers or the call's deadline
passes; the loop never waits on a worker), and coroutines with ``run``. A feature core's
database work goes through ``run_core``, which skips the loop where the engine allows it.
A built-in feature's nk functions find its core with ``feature``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from ..errors import ApiError
from ..storage import DatabaseError
from ..storage.database import drive
from ..streams.manager import StreamManager
from .context import HostOps
from .convert import from_lua, type_name
from .errors import NkArgError
from .outbox import LoopTimeout, Outbox

if TYPE_CHECKING:
    from .sandbox import Sandbox

__all__ = [
    "Services", "Bridge", "check_string", "check_uuid", "opt_bool", "opt_string", "lua_number_text", "lua_map",
    "lua_json_object",
]


@dataclass(slots=True)
class Services:
    """Shared by every VM of a runtime; None/empty where there is no server (nkhost check)."""

    node: str
    streams: StreamManager | None = None
    host: HostOps | None = None
    cache: Any = None  # host.runtime.localcache.LocalCache
    features: Mapping[str, Any] = field(default_factory=dict)  # feature name -> its core (host/features)
    events: Any = None  # host.runtime.events.EventQueue (nk.event), None without a server
    http: Any = None  # host.runtime.nk_http.HttpPolicy (nk.http_request)


@dataclass(slots=True)
class Bridge:
    """One VM's way out: the shared services plus the VM's own outbox (its FIFO to the loop)."""

    services: Services
    outbox: Outbox | None
    vm: Sandbox

    def _need_outbox(self, fname: str) -> Outbox:
        if self.outbox is None or self.services.streams is None:
            raise NkArgError(f"{fname}: not available while checking modules (no server)")
        return self.outbox

    def ask(self, fname: str, fn: Callable[..., Any], *args: Any) -> Any:
        outbox = self._need_outbox(fname)
        try:
            return outbox.ask(self.vm.deadline - time.monotonic(), fn, *args)
        except LoopTimeout:
            raise NkArgError(f"{fname}: the server did not answer before the call's deadline") from None

    def post(self, fname: str, fn: Callable[..., Any], *args: Any) -> None:
        self._need_outbox(fname).post(fn, *args)

    def run(self, fname: str, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """Await the coroutine ``fn(*args)`` on the loop, in script order; its result or exception."""
        outbox = self._need_outbox(fname)
        try:
            return outbox.ask_async(self.vm.deadline - time.monotonic(), fn, *args)
        except LoopTimeout:
            raise NkArgError(f"{fname}: the server did not answer before the call's deadline") from None

    def run_core(self, fname: str, failure: str, db: Any, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """A feature core's coroutine ``fn(*args)`` on database ``db``: driven right here on
        the worker where the engine allows it (``db.blocking``: SQLite, no hand-off to the
        loop), else awaited on the loop. A refusal (``ApiError``) or a database failure is the
        Lua error ``"<failure>: <why>"``, as Nakama's RaiseError texts read."""
        try:
            if db.blocking:
                return drive(fn(*args), timeout=self.vm.deadline - time.monotonic())
            return self.run(fname, fn, *args)
        except ApiError as exc:
            raise NkArgError(f"{failure}: {exc.message}") from None
        except DatabaseError as exc:
            raise NkArgError(f"{failure}: {exc}") from None

    def feature(self, fname: str, name: str) -> Any:
        """The core of the built-in feature ``name``, or a clear error where there is none
        (``nkhost check`` loads modules without a server)."""
        core = self.services.features.get(name)
        if core is None or self.outbox is None:
            raise NkArgError(f"{fname}: not available while checking modules (no server)")
        return core

    @property
    def streams(self) -> StreamManager:
        assert self.services.streams is not None
        return self.services.streams

    def host_op(self, fname: str, name: str) -> Callable[..., Any]:
        """A HostOps callable, or a clear error when the network layer gave none."""
        op = getattr(self.services.host, name, None) if self.services.host is not None else None
        if op is None:
            raise NkArgError(f"{fname}: not available (no network layer is attached to the runtime)")
        return op


# Argument checks with gopher-lua's texts ------------------------------------------------------


def lua_number_text(value: int | float) -> str:
    """tostring() of a Lua number: integers without a decimal point, others as %.14g."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.14g}"
    return str(value)


def check_string(value: Any, argn: int) -> str:
    """CheckString: a string, or a number converted to one; anything else is an ArgError."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise NkArgError("string is not valid UTF-8", argn) from None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return lua_number_text(value)
    raise NkArgError(f"string expected, got {type_name(value)}", argn)


def check_uuid(value: Any, argn: int, what: str) -> str:
    """A canonical UUID string; "expects <what>" when empty, "expects valid <what>" when bad."""
    text = check_string(value, argn)
    if text == "":
        raise NkArgError(f"expects {what}", argn)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise NkArgError(f"expects valid {what}", argn) from None


def opt_bool(value: Any, argn: int, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise NkArgError(f"boolean expected, got {type_name(value)}", argn)
    return value


def opt_string(value: Any, argn: int, default: str = "") -> str:
    """OptString: nil gives the default; unlike CheckString a number is refused."""
    if value is None:
        return default
    if not isinstance(value, bytes):
        raise NkArgError(f"string expected, got {type_name(value)}", argn)
    return check_string(value, argn)


def lua_map(table: Any) -> dict[str, Any]:
    """A Lua table as RuntimeLuaConvertLuaTable makes it: always a map (array keys "1", "2"...).
    Raises ValueError for values that cannot cross (functions)."""
    value = from_lua(table)
    if isinstance(value, list):
        return {str(i + 1): v for i, v in enumerate(value)}
    return value  # type: ignore[no-any-return]


def lua_json_object(table: Any, argn: int | None, failure: str = "failed to convert metadata") -> str:
    """A table as the JSON text of an object: keys sorted, compact (Go's json.Marshal). A value
    that cannot cross is ``"<failure>: <why>"`` (about argument ``argn``; None: RaiseError)."""
    try:
        return orjson.dumps(lua_map(table), option=orjson.OPT_SORT_KEYS).decode()
    except (ValueError, TypeError, orjson.JSONEncodeError) as exc:
        raise NkArgError(f"{failure}: {exc}", argn) from None
