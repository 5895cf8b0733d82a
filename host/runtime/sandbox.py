"""One locked-down LuaJIT VM: the modules of one generation, run under limits.

The lockdown and the entry points live in the trusted prelude ``lua/sandbox.lua``; this
class owns the ``LuaRuntime`` and turns what escapes a call into host errors:

* an abort by the instruction hook (deadline) escapes every pcall by design; the host
  clears ``armed`` with a plain setitem (no bytecode runs), then re-arms the hook;
* an out-of-memory error is followed by ``set_max_memory(0); gccollect();
  set_max_memory(limit)``, also whenever a call leaves more than half the cap in use,
  because lupa's next API call can otherwise PANIC the process (notes §3.3).

A Sandbox is not thread-safe: one thread uses it at a time (the worker that built it, then
the one that adopted it; see pool.py).
"""

from __future__ import annotations

import ctypes
import logging
import re
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lupa import luajit21

from ..config import RuntimeConfig
from .context import CallContext
from .convert import to_lua
from .errors import CallOutOfMemory, CallTimeout, RpcError, RpcNotFound
from .registrations import Registration
from .snapshot import Module

__all__ = ["Limits", "Catalog", "Sandbox", "HOOK_KINDS", "HEADROOM", "Binder", "clip"]

log = logging.getLogger("nkhost.runtime")

_LUA_DIR = Path(__file__).parent / "lua"
_PRELUDE = (_LUA_DIR / "sandbox.lua").read_bytes()
_JSON = (_LUA_DIR / "json.lua").read_bytes()
_BIT32 = (_LUA_DIR / "bit32.lua").read_bytes()

HOOK_KINDS = ("req_before", "req_after", "rt_before", "rt_after")
HEADROOM = 1 << 20
"""Heap left free under the cap whenever lupa's glue runs (an nk call's arguments and results,
a call's context): an allocation refused there deadlocks the process (issue 13), so the Lua
side refuses an nk call with "not enough memory" past ``cap - HEADROOM``, and the host builds
tables with the cap lifted (nk.py, ``call``)."""
_MEMORY_TEXT = "not enough memory"


def _deny(*_: Any) -> Any:
    raise AttributeError("Python attribute access is disabled")


# The deadline hook, switched on only when needed (see lua/sandbox.lua, "Limits", and the
# README's "Limits"). lupa links LuaJIT into its extension module and exports the C API;
# lua_sethook may be called from another thread while the VM runs (LuaJIT: "can be called
# asynchronously (e.g. during a signal)"). If the symbols are missing the hook simply stays on,
# as with the JIT.
try:
    _lib = ctypes.CDLL(luajit21.__file__)
    _lua_sethook = _lib.lua_sethook
    _lua_sethook.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    _lua_sethook.restype = ctypes.c_int
    _lua_gethook = _lib.lua_gethook
    _lua_gethook.argtypes = [ctypes.c_void_p]
    _lua_gethook.restype = ctypes.c_void_p
    _lua_gethookmask = _lib.lua_gethookmask
    _lua_gethookmask.argtypes = [ctypes.c_void_p]
    _lua_gethookmask.restype = ctypes.c_int
except (OSError, AttributeError):  # pragma: no cover - a lupa build without exported symbols
    _lua_sethook = _lua_gethook = _lua_gethookmask = None
_LUA_MASKCOUNT = 8


class _DeadlineWatch:
    """One daemon thread for the process: switches the count hook on in every VM whose call is
    past its deadline, and checks on every pass that it is still on until the call returns. It
    wakes every 1/20 of the shortest registered deadline (2-50 ms), so an abort comes at most
    that late; a call that ends first never pays for the hook."""

    def __init__(self) -> None:
        self._vms: weakref.WeakSet[Sandbox] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, vm: Sandbox) -> None:
        with self._lock:
            self._vms.add(vm)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="nkhost-lua-deadline", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                vms = list(self._vms)  # strong references: no VM is freed while we touch it
            period = 0.05
            now = time.monotonic()
            for vm in vms:
                period = min(period, vm._watch_every)
                expires = vm._expires
                if expires and now > expires:
                    vm._hook_on(now)
            del vms
            time.sleep(period)


_WATCH = _DeadlineWatch()


@dataclass(slots=True, frozen=True)
class Limits:
    timeout_ms: int = 5000
    max_memory_mb: int = 64
    jit: bool = False
    hook_every: int = 1000  # instructions between deadline checks; the cost hardly depends on it
    max_subject: int = 64 << 10  # string.find/match/gmatch/gsub subject cap when the pattern has specials

    @classmethod
    def from_config(cls, config: RuntimeConfig) -> Limits:
        return cls(config.lua_call_timeout_ms, config.lua_max_memory_mb, config.lua_jit)

    @property
    def hook_interval(self) -> int:
        """With the JIT the hook's clock is a Python call (it takes the GIL): check less often."""
        return self.hook_every * 100 if self.jit else self.hook_every

    @property
    def max_bytes(self) -> int:
        return self.max_memory_mb << 20

    @property
    def max_string(self) -> int:
        """The string.rep cap: a quarter of the heap, so one call cannot take it all at once."""
        return self.max_bytes // 4


@dataclass(slots=True, frozen=True)
class Catalog:
    """What one generation registered: RPC ids and hook names (lowercase), and the other
    registrations (register_event, register_matchmaker_matched, ...; see registrations.py)."""

    rpcs: frozenset[str]
    hooks: Mapping[str, frozenset[str]]
    shutdown: int
    handlers: tuple[Registration, ...] = ()
    overrides: tuple[str, ...] = ()
    """One text per registration that replaced an earlier one with the same id."""

    def keys(self, kind: str) -> list[str]:
        """The keys registered for ``kind``, in registration order for register_event's "1", "2"..."""
        return sorted((r.key for r in self.handlers if r.kind == kind), key=lambda k: (len(k), k))


Binder = Callable[["Sandbox"], Mapping[str, Callable[..., Any]]]
"""Builds the Python side of the nk functions for a VM (see host/runtime/nk.py)."""


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


MAX_TEXT_BYTES = 4096
"""Error texts and print lines from Lua are cut to this before they are returned or logged
(issue 13: an 8 MiB error() was sent and logged whole)."""


def clip(value: Any) -> str:
    """A Lua error text or log line, at most MAX_TEXT_BYTES of it, saying how long it was."""
    if isinstance(value, bytes) and len(value) > MAX_TEXT_BYTES:
        value = value[:MAX_TEXT_BYTES] + b"... (%d bytes, truncated)" % len(value)
    elif isinstance(value, str) and len(value) > MAX_TEXT_BYTES:
        value = f"{value[:MAX_TEXT_BYTES]}... ({len(value)} characters, truncated)"
    return _text(value)


def _b(text: str) -> bytes:
    return text.encode()


class Sandbox:
    __slots__ = (
        "lua", "limits", "generation", "deadline", "context", "catalog", "_host", "_st", "_call", "_label",
        "_async", "_state", "_hookf", "_hooked", "_expires", "_hook_lock", "_watch_every", "__weakref__",
    )

    def __init__(
        self,
        limits: Limits,
        bind: Binder,
        *,
        generation: int,
        node: str,
        version: str,
        env: Mapping[str, str],
        log_line: Callable[[str, str], None],
        claim_once: Callable[[], bool],
    ) -> None:
        self.limits = limits
        self.generation = generation
        self.deadline = 0.0  # monotonic; nk calls that wait on the loop use what is left
        self.context: CallContext | None = None  # the running (or last) call's; nk.event copies its caller
        self.catalog: Catalog | None = None
        self._label = f"runtime_generation={generation}"
        self.lua = luajit21.LuaRuntime(
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            attribute_handlers=(_deny, _deny),  # getter and setter: also closes item access
            encoding=None,
            max_memory=limits.max_bytes,
            overflow_handler=float,
        )
        functions = {_b(name): fn for name, fn in bind(self).items()}
        self._async = not limits.jit and _lua_sethook is not None
        self._hooked = False
        self._expires = 0.0  # monotonic deadline of the running call, 0 between calls
        self._hook_lock = threading.Lock()
        self._watch_every = min(0.05, max(0.002, limits.timeout_ms / 1000.0 / 20))
        cfg = {
            b"max_str": limits.max_string,
            b"max_memory": limits.max_bytes,
            b"headroom": HEADROOM,
            b"max_subject": limits.max_subject,
            b"hook_n": limits.hook_interval,
            b"jit": limits.jit,
            b"async_hook": self._async,
            b"timeout": limits.timeout_ms / 1000.0,
            b"node": _b(node),
            b"version": _b(version),
            b"generation": generation,
            b"env": {_b(k): _b(v) for k, v in env.items()},
            b"json_src": _JSON,
            b"bit32_src": _BIT32,
        }

        def py_log(level: bytes, message: bytes) -> None:
            log_line(_text(level), clip(message))

        py = {b"log": py_log, b"claim_once": claim_once, b"clock": time.monotonic}
        prelude = self.lua.execute(b"return function(...) return assert(load(..., '=sandbox', 't', _G)) end")(_PRELUDE)
        self._host = prelude(self.lua.table_from(cfg, recursive=True), self.lua.table_from(functions), self.lua.table_from(py))
        self._st = self._host[b"st"]
        self._call = self._host[b"call"]
        self._state = self._hookf = None
        if self._async:
            # "thread: 0x..." is the address of that coroutine's lua_State; hooks are per VM
            self._state = int(self._host[b"hook_state"].split(b"0x", 1)[1], 16)
            self._hookf = _lua_gethook(self._state)
            if not self._hookf:  # pragma: no cover - the prelude installed it just now
                raise RuntimeError("the deadline hook is not installed")
            _lua_sethook(self._state, None, 0, 0)
            _WATCH.add(self)

    @property
    def jit_on(self) -> bool:
        """Whether LuaJIT's compiler is on in this VM (jit.status(), captured by the prelude)."""
        return bool(self._host[b"jit_on"]())

    # Loading -------------------------------------------------------------------------

    def load(self, modules: Sequence[Module]) -> list[str]:
        """Run every module's top level once, in order; returns "file:line: message" errors.

        After this the globals are frozen and ``catalog`` holds the registrations.
        """
        listing = [{b"name": _b(m.name), b"path": _b(m.path), b"src": m.source} for m in modules]
        self._host[b"begin_load"](self.lua.table_from(listing, recursive=True))
        errors: list[str] = []
        load_module = self._host[b"load_module"]
        for module in modules:
            try:
                err = self._guarded(load_module, _b(module.name))
            except RpcError as exc:
                err = f"{self._aborted_module(module)}: loading failed: {exc.message}"
            if err is not None:
                errors.append(clip(err))
        catalog = self._host[b"finish_load"]()
        hooks = {kind: frozenset(_text(k) for k in catalog[_b(kind)].values()) for kind in HOOK_KINDS}
        handlers = tuple(sorted(
            Registration(_text(h[b"kind"]), _text(h[b"key"]), _text(h[b"path"])) for h in catalog[b"handlers"].values()
        ))
        overrides = tuple(
            f"{_text(o[b'kind'])} {_text(o[b'key'])!r} in {_text(o[b'new']) or '?'} overrides the one in {_text(o[b'old']) or '?'}"
            for o in catalog[b"overrides"].values()
        )
        self.catalog = Catalog(frozenset(_text(k) for k in catalog[b"rpc"].values()), hooks, int(catalog[b"shutdown"]), handlers, overrides)
        return list(dict.fromkeys(errors))  # a module required by others reports once

    def _aborted_module(self, module: Module) -> str:
        inner = self._st[b"module"]
        return _text(inner) if inner else module.path

    # Calls ---------------------------------------------------------------------------

    def call(self, kind: str, key: str, ctx: CallContext, a: Any = None, b: Any = None, mode: str | None = None) -> Any:
        """Call the function registered as ``kind``/``key`` with (ctx, a, b).

        ``a`` and ``b`` are Python values (converted here); ``mode`` overrides
        ctx.execution_mode ("before"/"after" for hooks).

        Returns its result: for an RPC the returned string (bytes) or None; for a before hook
        the returned table as JSON (bytes) or None. Raises RpcNotFound when nothing is
        registered, RpcError (message without file:line, as Nakama strips it) otherwise.
        """
        lua = self.lua
        self.context = ctx
        if type(a) is not bytes and a is not None or type(b) is not bytes and b is not None or ctx.vars or ctx.headers or ctx.query_params:
            a, b, maps = self.uncapped(lambda: (
                a if a is None or type(a) is bytes else to_lua(lua, a),
                b if b is None or type(b) is bytes else to_lua(lua, b),
                _ctx_maps(lua, ctx),
            ))
        else:
            if lua.get_memory_used() + HEADROOM > self.limits.max_bytes:  # lupa pushes the arguments
                self._recover_memory()
            maps = _NO_MAPS
        result = self._guarded(
            self._call,
            kind.encode(),
            key.encode(),
            (mode or ctx.execution_mode).encode(),
            a,
            b,
            ctx.user_id.encode(),
            ctx.username.encode(),
            ctx.user_session_exp,
            ctx.session_id.encode(),
            ctx.lang.encode(),
            ctx.client_ip.encode(),
            ctx.client_port.encode(),
            ctx.trace_id.encode(),
            *maps,
        )
        if result == 0:
            raise RpcNotFound(key)
        if result[0] == 1:
            return result[1]
        _, message, code, custom, path, trace = result
        message = clip(message)
        if message == _MEMORY_TEXT:
            raise CallOutOfMemory(f"{kind} {key!r} aborted: memory limit of {self.limits.max_memory_mb} MiB exceeded")
        if not custom:
            log.error("%s %s %r failed: %s", self._label, kind, key, clip(trace) if trace else message)
        raise RpcError(_strip_position(message, _text(path)), int(code))

    def uncapped(self, build: Callable[[], tuple[Any, ...]]) -> tuple[Any, ...]:
        """A call's arguments, ``build()`` making its tables with the memory cap lifted: a
        refused allocation inside table_from deadlocks the process (issue 13). Their size is
        the host's (requests, envelopes, match messages within the server's own limits);
        when they leave less than HEADROOM under the cap (for lupa to push them), the call
        fails as out of memory (CallOutOfMemory) without running."""
        lua, cap = self.lua, self.limits.max_bytes
        if lua.get_memory_used() + HEADROOM > cap:
            self._recover_memory()
        lua.set_max_memory(0)
        try:
            out = build()
        finally:
            lua.set_max_memory(cap)
        if lua.get_memory_used() + HEADROOM > cap:
            del out
            self._recover_memory()
            raise CallOutOfMemory(f"memory limit of {self.limits.max_memory_mb} MiB exceeded")
        return out

    def shutdown(self, ctx: CallContext) -> list[str]:
        """Run the register_shutdown functions; returns their errors (file:line: message)."""
        self.context = ctx
        errors = self._guarded(self._host[b"shutdown"], _b(ctx.user_id), b"", 0, b"", b"", b"", b"", b"")
        return [clip(e) for e in errors.values()]

    def _guarded(self, fn: Any, *args: Any) -> Any:
        """Call into Lua; map limit hits to RpcError and keep the VM usable afterwards."""
        limits = self.limits
        self.deadline = time.monotonic() + limits.timeout_ms / 1000.0
        if self._async:
            self._expires = self.deadline
        try:
            return fn(*args)
        except luajit21.LuaMemoryError:
            self._st[b"armed"] = False
            self._recover_memory()
            self._host[b"reset"]()
            raise CallOutOfMemory(f"memory limit of {limits.max_memory_mb} MiB exceeded") from None
        except luajit21.LuaError as exc:
            if self._st[b"killed"]:
                self._st[b"armed"] = False  # plain setitem: no bytecode runs, so no hook fires
                self._host[b"reset"]()
                raise CallTimeout(f"call exceeded the {limits.timeout_ms} ms deadline") from None
            self._st[b"armed"] = False
            self._host[b"reset"]()
            log.error("%s: Lua error outside a protected call: %s", self._label, clip(str(exc)))
            raise RpcError("internal runtime error") from None
        finally:
            if self._async:
                self._hook_off()
            if self.lua.get_memory_used() > limits.max_bytes // 2:
                self._recover_memory()

    def _hook_on(self, now: float) -> None:
        """Watchdog thread: the running call is past its deadline; make sure the hook is on.

        Looked at on every pass, not once: lua_sethook updates the VM's hook mask with a plain
        read-modify-write, and a __gc finalizer ending on the VM thread at that instant restores
        the mask it saved (LuaJIT's hook_restore), dropping the count bit. The hook itself only
        ever re-installs a count hook, so a mask without it means the switch-on was lost.
        """
        with self._hook_lock:
            if self._expires and now > self._expires and not _lua_gethookmask(self._state) & _LUA_MASKCOUNT:
                _lua_sethook(self._state, self._hookf, _LUA_MASKCOUNT, 1)
                self._hooked = True

    def _hook_off(self) -> None:
        """The call has returned (no Lua runs): switch the hook off until the next overrun."""
        with self._hook_lock:
            self._expires = 0.0
            if self._hooked:
                _lua_sethook(self._state, None, 0, 0)
                self._hooked = False

    def _recover_memory(self) -> None:
        self.lua.set_max_memory(0)
        self.lua.gccollect()
        self.lua.set_max_memory(self.limits.max_bytes)


def _ctx_name(value: Any) -> bytes:
    """A name in ctx.vars/headers/query_params: a str (or bytes) only, never nil or NaN."""
    kind = type(value)
    if kind is str:
        return value.encode()
    if kind is bytes:
        return value
    raise TypeError(f"cannot pass a {kind.__name__} to Lua as a context name")


def _ctx_str(value: Any) -> Any:
    """One value of ctx.vars/headers/query_params as a flat-list slot: str as UTF-8,
    bytes and numbers as they are (what ``_plain`` did); never a container (table_from below is
    not recursive, so a container would reach Lua as a Python object)."""
    kind = type(value)
    if kind is str:
        return value.encode()
    if kind in _CTX_SCALARS:
        return value
    raise TypeError(f"cannot pass a {kind.__name__} to Lua as a context name or value")


_CTX_SCALARS = frozenset({bytes, int, float, bool, type(None)})
_NO_MAPS = (None, None, None, None)


def _ctx_maps(lua: Any, ctx: CallContext) -> tuple[Any, Any, Any, Any]:
    """ctx.vars, ctx.headers and ctx.query_params as one flat Lua array, for make_ctx in
    lua/sandbox.lua to build the nested tables from: (flat, vars_end, headers_end, end).

    The array holds vars as ``name, value`` pairs (slots 1..vars_end), then headers and then
    query params as ``name, count, value_1 .. value_count`` runs (to headers_end, then to end;
    the ends are passed, not taken from ``#flat``, which a None value would make ambiguous).
    Every name and value is one slot, whatever bytes it holds (``\0``, ``=``, ``,``...), so no
    value can shift or inject entries; counts come from ``len`` here, never from the data.
    ``table_from`` on a flat list of strings costs ~1.3 us; the recursive copy of the maps it
    replaces (``to_lua``) cost ~20 us for 5 headers. vars_end is None when ctx.vars is empty
    (ctx.vars then stays absent, as before); a None var or list is dropped, as ``_plain`` did.
    """
    variables, headers, query = ctx.vars, ctx.headers, ctx.query_params
    if not (variables or headers or query):
        return _NO_MAPS
    flat: list[Any] = []
    vars_end = None
    if variables:
        add = flat.append
        for name, value in variables.items():
            if value is not None:
                add(name.encode() if type(name) is str else _ctx_name(name))
                add(value.encode() if type(value) is str else _ctx_str(value))
        vars_end = len(flat)
    if headers:
        _add_multi(flat, headers)
    headers_end = len(flat)
    if query:
        _add_multi(flat, query)
    return lua.table_from(flat), vars_end, headers_end, len(flat)


def _add_multi(flat: list[Any], section: Mapping[Any, Any]) -> None:
    """Appends ``name, count, values...`` for each entry of a dict[str, list[str]].

    The fast loop takes str names and lists of str only (``str.encode`` itself raises
    TypeError for anything else, even an object with its own ``encode``); on anything else the
    section is redone by the strict loop below.
    """
    start = len(flat)
    add, encode = flat.append, str.encode
    try:
        for name, values in section.items():
            if type(values) is not list:
                raise TypeError
            add(encode(name))
            add(len(values))
            for value in values:
                add(encode(value))
        return
    except TypeError:
        del flat[start:]
    for name, values in section.items():
        if values is None:
            continue
        if not isinstance(values, (list, tuple)):
            raise TypeError(f"cannot pass a {type(values).__name__} to Lua as a list of context values")
        add(_ctx_name(name))
        add(len(values))
        flat.extend([_ctx_str(v) for v in values])


_POSITION = re.compile(r"^(.+?):(\d+): ")


def _strip_position(message: str, path: str) -> str:
    """Nakama's clearFnError: drop "<file>:<line>: " when raised in the RPC's own file."""
    match = _POSITION.match(message)
    if match and path and match.group(1) == path:
        return message[match.end():]
    return message
