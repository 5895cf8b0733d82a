"""The Runtime: generations of Lua modules served by a worker pool, reloaded live.

A generation is a snapshot of runtime.path plus what its modules registered. Start and
reload build it eagerly, off the loop and off the call path: one VM per worker, each on a
builder thread (not a worker: see pool.py), so each module's top level runs exactly once in
each worker's VM per generation (as Nakama with read-only globals off: module state is per VM, and nk calls made
at load time run once per VM), and no separate validation VM runs it again. The generation
is published only when every VM loaded; any failure keeps the old generation everywhere and
reports "file:line: message". Calls keep running on the old generation meanwhile; each
worker adopts a new VM between jobs, so a call finishes on the generation it started on.
Published generations are never mutated.

A missing runtime.path is created (and logged), as Nakama does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..config import RuntimeConfig
from ..streams.manager import StreamManager
from .bridge import Services
from .context import CallContext, HostOps
from .errors import LoadError, RpcError, RpcNotFound
from .events import EventQueue
from .localcache import LocalCache
from .match_vm import handler_modules
from .nk import binder
from .nk_http import policy_from_config
from .outbox import Outbox
from .pool import WorkerPool
from .registrations import never_called
from .report import log_report, report
from .sandbox import HOOK_KINDS, Catalog, Limits, Sandbox
from .snapshot import Module, Snapshot, snapshot

__all__ = ["Runtime", "ReloadResult", "Generation", "check_modules", "standalone_vm"]

log = logging.getLogger("nkhost.runtime")
lua_log = logging.getLogger("nkhost.lua")

_INVALID_UTF8 = "Runtime function returned invalid data - only allowed one return value of type String/Byte."


@dataclass(slots=True, frozen=True)
class Generation:
    number: int
    snapshot: Snapshot
    catalog: Catalog


@dataclass(slots=True)
class ReloadResult:
    ok: bool
    generation: int
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _text_result(value: bytes | None) -> str | None:
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise RpcError(_INVALID_UTF8) from None


def _json_result(value: bytes | None) -> dict[str, Any] | None:
    return None if value is None else orjson.loads(value)


def _print_logger(generation: int):
    def log_line(level: str, message: str) -> None:
        lua_log.log(logging.getLevelName(level.upper()), "runtime_generation=%d %s", generation, message)

    return log_line


class Runtime:
    def __init__(
        self,
        config: RuntimeConfig,
        streams: StreamManager,
        *,
        node: str = "nakama",
        host: HostOps | None = None,
        version: str = "nkhost",
        functions: Mapping[str, Callable[..., Any]] | None = None,
        features: Mapping[str, Any] | None = None,
    ) -> None:
        """``functions`` are the built-in features' nk functions and ``features`` their cores
        by name (what ``Bridge.feature`` finds)."""
        self.config = config
        self.node = node
        self.version = version
        self.limits = Limits.from_config(config)
        self._services = Services(node, streams, host, LocalCache(), dict(features or {}))
        self._event_keys: list[str] = []  # the current generation's register_event functions
        self._events = EventQueue(config.event_queue_size, config.event_queue_workers, self._deliver_event, lambda: bool(self._event_keys))
        self._services.events = self._events
        self._services.http = policy_from_config(config)
        self._functions = dict(functions or {})
        self._env = config.env_map()
        self._current: Generation | None = None
        self._first: Generation | None = None  # generation 1 while it loads
        self._pool: WorkerPool | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._stop_watch = asyncio.Event()
        self._reload_lock = asyncio.Lock()
        self._reloads = asyncio.Condition()
        self.last_reload: ReloadResult | None = None
        self._once_lock = threading.Lock()
        self._once_claimed = False
        self.generation_checks: list[Callable[[Sandbox, Sequence[Module]], list[str]]] = []
        """Run on one built VM of every new generation before it is published; any error
        text refuses it like a module error (the matches feature checks its handler modules)."""

    # Lifecycle ---------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        return self._current.number if self._current is not None else 0

    @property
    def current(self) -> Generation | None:
        """The published generation (its snapshot is what a new match VM loads); while the
        first one loads, that one (so a module may create a match in nk.run_once)."""
        return self._current if self._current is not None else self._first

    def vm_args(self, outbox: Outbox | None) -> dict[str, Any]:
        """What a VM outside the pool (a match's own) shares with the workers' VMs: limits, nk
        functions (their loop calls through ``outbox``), node, version and ctx.env."""
        return {"limits": self.limits, "bind": binder(self._services, outbox, self._functions), "node": self.node, "version": self.version, "env": self._env}

    async def start(self) -> None:
        """Start the workers, load generation 1 in each (LoadError lists "file:line: message"),
        then the watcher."""
        loop = asyncio.get_running_loop()
        await asyncio.to_thread(_ensure_dir, self.config.path)
        self._pool = WorkerPool(self.config.lua_pool_size, loop, self._load_vm, self.limits.timeout_ms)
        self._pool.start()
        errors = await self._build(1)
        if errors:
            pool, self._pool = self._pool, None
            await pool.stop()
            raise LoadError(errors)
        self._events.start()
        if self.config.hot_reload:
            from .watcher import watch

            self._watcher = loop.create_task(watch(self.config.path, self.reload, self._stop_watch), name="nkhost-lua-watcher")

    async def close(self) -> None:
        """Run the register_shutdown functions, then stop the watcher and the workers."""
        if self._watcher is not None:
            self._stop_watch.set()
            await asyncio.gather(self._watcher, return_exceptions=True)
            self._watcher = None
        pool = self._pool
        if pool is None:
            return
        await self._events.close()
        if self._current is not None and self._current.catalog.shutdown:
            job = pool.new_job("shutdown", "", "shutdown", CallContext(execution_mode="shutdown"))
            try:
                for error in await pool.submit(job):
                    log.error("runtime_generation=%d shutdown function failed: %s", self.generation, error)
            except RpcError as exc:
                log.error("runtime_generation=%d shutdown functions failed: %s", self.generation, exc.message)
        self._pool = None
        await pool.stop()

    # Generations ------------------------------------------------------------------------------

    def _claim_once(self) -> bool:
        with self._once_lock:
            if self._once_claimed:
                return False
            self._once_claimed = True
            return True

    def _load_vm(self, number: int, modules: Sequence[Module], outbox: Outbox) -> Sandbox:
        """Runs on a worker: one VM of generation ``number`` with every module loaded."""
        vm = Sandbox(
            self.limits,
            binder(self._services, outbox, self._functions),
            generation=number,
            node=self.node,
            version=self.version,
            env=self._env,
            log_line=_print_logger(number),
            claim_once=self._claim_once,
        )
        errors = vm.load(modules)
        if errors:
            raise LoadError(errors)
        return vm

    async def _build(self, number: int) -> list[str]:
        """Build generation ``number`` in every worker; publish it if all loaded, else the
        errors. Either way one report (report.py) goes to the log."""
        started = time.perf_counter()
        kept = self.generation
        errors, modules, handlers = await self._load_generation(number)
        seconds = time.perf_counter() - started
        catalog = self._current.catalog if not errors and self._current is not None else None
        log_report(report(number, seconds, modules, catalog, errors, handlers, kept))
        if catalog is not None:
            for line in (*catalog.overrides, *never_called(catalog.handlers)):
                log.warning("runtime_generation=%d %s", number, line)
        return errors

    async def _load_generation(self, number: int) -> tuple[list[str], Sequence[Module], list[str]]:
        """(errors, the snapshot's modules, the match handler modules) of one build attempt."""
        pool = self._pool
        assert pool is not None
        snap = await asyncio.to_thread(snapshot, self.config.path)
        if snap.errors:
            return list(snap.errors), snap.modules, []
        if self._current is None:
            self._first = Generation(number, snap, Catalog(frozenset(), {}, 0))
        built, errors = await pool.build(number, snap.modules)
        if errors:
            return errors, snap.modules, []
        for check in self.generation_checks:
            errors += await asyncio.to_thread(check, built[0].vm, snap.modules)
        if errors:
            return errors, snap.modules, []
        handlers = await asyncio.to_thread(handler_modules, built[0].vm, snap.modules)
        self._current = Generation(number, snap, built[0].vm.catalog)
        pool.publish(number, snap.modules, built)
        self._event_keys = self._current.catalog.keys("event")
        return [], snap.modules, handlers

    async def reload(self) -> ReloadResult:
        """Build the next generation from runtime.path; publish it only if every module loaded."""
        async with self._reload_lock:
            started = time.perf_counter()
            number = self.generation + 1
            errors = await self._build(number)
            seconds = time.perf_counter() - started
            result = ReloadResult(not errors, self.generation, errors, seconds)
        async with self._reloads:
            self.last_reload = result
            self._reloads.notify_all()
        return result

    async def wait_reload(self) -> ReloadResult:
        """The result of the next reload attempt (the watcher's or anyone's)."""
        async with self._reloads:
            await self._reloads.wait()
            assert self.last_reload is not None
            return self.last_reload

    # Calls --------------------------------------------------------------------------------------

    def _catalog(self) -> Catalog:
        if self._current is None or self._pool is None:
            raise RuntimeError("the runtime is not started")
        return self._current.catalog

    def rpc_exists(self, rpc_id: str) -> bool:
        return self._current is not None and rpc_id.lower() in self._current.catalog.rpcs

    async def call_rpc(self, rpc_id: str, ctx: CallContext, payload: str) -> str | None:
        """Run an RPC on a worker; raises RpcNotFound or RpcError(message, code)."""
        return await self._rpc_job(rpc_id, ctx, payload, None)  # type: ignore[misc]

    def start_rpc(self, rpc_id: str, ctx: CallContext, payload: str, reply: Callable[[bool, Any], None]) -> None:
        """``call_rpc`` without a future: ``reply(True, result)`` or ``reply(False, RpcError)``
        runs on the loop when it is done. Raises RpcNotFound at once."""
        self._rpc_job(rpc_id, ctx, payload, reply)

    def _rpc_job(self, rpc_id: str, ctx: CallContext, payload: str, reply: Callable[[bool, Any], None] | None) -> Any:
        key = rpc_id.lower()
        if key not in self._catalog().rpcs:
            raise RpcNotFound(rpc_id)
        pool = self._pool
        assert pool is not None
        return pool.submit(pool.new_job("rpc", key, ctx.execution_mode, ctx, payload.encode(), None, _text_result, reply))

    def has_hook(self, kind: str, name: str) -> bool:
        if kind not in HOOK_KINDS:
            raise ValueError(f"unknown hook kind {kind!r}")
        return self._current is not None and name.lower() in self._current.catalog.hooks[kind]

    async def _hook(self, kind: str, name: str, mode: str, ctx: CallContext, a: Any, b: Any, finish: Any) -> Any:
        pool = self._pool
        if pool is None or not self.has_hook(kind, name):
            raise RpcNotFound(name)
        return await pool.submit(pool.new_job(kind, name.lower(), mode, ctx, a, b, finish))

    async def before_req(self, name: str, ctx: CallContext, request: dict) -> dict | None:
        """The request as the hook returned it; None when the hook rejected it (returned nil)."""
        try:
            return await self._hook("req_before", name, "before", ctx, request, None, _json_result)
        except RpcNotFound:
            return request

    async def after_req(self, name: str, ctx: CallContext, response: dict, request: dict) -> None:
        try:
            await self._hook("req_after", name, "after", ctx, response, request, None)
        except RpcNotFound:
            pass

    async def before_rt(self, name: str, ctx: CallContext, envelope: dict) -> dict | None:
        try:
            return await self._hook("rt_before", name, "before", ctx, envelope, None, _json_result)
        except RpcNotFound:
            return envelope

    async def after_rt(self, name: str, ctx: CallContext, out: dict | None, envelope: dict) -> None:
        try:
            await self._hook("rt_after", name, "after", ctx, out, envelope, None)
        except RpcNotFound:
            pass

    async def _deliver_event(self, ctx: CallContext, event: dict[str, Any]) -> None:
        """Run every register_event function for one event, in order, each as its own call."""
        for key in self._event_keys:
            pool = self._pool
            if pool is None:
                return
            try:
                await pool.submit(pool.new_job("event", key, "event", ctx, event))
            except RpcNotFound:  # a reload between the queueing and now removed it
                continue
            except RpcError as exc:
                lua_log.warning("runtime_generation=%d event %r: handler failed: %s", self.generation, event["name"], exc.message)


def _ensure_dir(path: str) -> None:
    """Nakama creates a missing runtime.path; a path that exists but is no directory stays an error."""
    if not os.path.exists(path):
        os.makedirs(path, exist_ok=True)
        log.info("runtime.path %s did not exist: created it", path)


def standalone_vm(path: str, functions: Mapping[str, Callable[..., Any]] | None = None) -> tuple[Sandbox | None, list[str]]:
    """One VM with every module of ``path`` loaded, outside any server: (vm, "file:line: message"
    errors). Stream and feature functions (``functions``, as given to Runtime) fail when called
    here (there is no server) and run_once functions do not run. ``nkhost check`` uses it, and
    so does the benchmark's Lua-only ceiling."""
    snap = snapshot(path)
    if snap.errors:
        return None, list(snap.errors)
    config = RuntimeConfig(path=path)
    vm = Sandbox(
        Limits.from_config(config),
        binder(Services("nakama", cache=LocalCache()), None, functions),
        generation=0,
        node="nakama",
        version="nkhost",
        env=config.env_map(),
        log_line=_print_logger(0),
        claim_once=lambda: False,
    )
    return vm, vm.load(snap.modules)


def check_modules(path: str, functions: Mapping[str, Callable[..., Any]] | None = None) -> list[str]:
    """Load every module in a throwaway VM without a server: "file:line: message" per error."""
    return standalone_vm(path, functions)[1]
