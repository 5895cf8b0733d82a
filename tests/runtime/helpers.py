"""Helpers for runtime tests: a bare VM for sandbox/limit tests, a Runtime on a temp dir."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

from host.config import RuntimeConfig
from host.runtime import CallContext, HostOps, Runtime
from host.runtime.bridge import Services
from host.runtime.localcache import LocalCache
from host.runtime.nk import binder
from host.runtime.sandbox import Limits, Sandbox
from host.runtime.snapshot import snapshot
from tests.streams.helpers import make_engine

__all__ = ["vm_with", "rpc_vm", "write_modules", "start_runtime", "CallContext", "make_engine", "PER_VM", "LoadEvents"]


PER_VM = """
    local nk = require("nakama")
    local id = nk.uuid_v4()  -- this VM
    nk.session_disconnect(id)  -- tells the test (reason 4) that this VM ran the top level
    local calls, held = 0, false
    local function count()
      calls = calls + 1
      return id .. " " .. calls .. " " .. nk.get_context().runtime_generation
    end
    nk.register_rpc(count, "count")
    -- The VM's first "hold" call tells the test (reason 1) and waits for localcache "go": a
    -- second call cannot reach this VM meanwhile, so the next one lands in another VM.
    nk.register_rpc(function()
      if not held then
        held = true
        nk.session_disconnect(id, 1)
        while nk.localcache_get("go") == nil do end
      end
      return count()
    end, "hold")
"""
"""A module that names its VM: "count" answers "<vm id> <calls in this VM> <generation>"."""


class LoadEvents:
    """HostOps for PER_VM: which VMs ran the top level, which are holding a call."""

    def __init__(self, holders: int = 0) -> None:
        self.loads: list[str] = []
        self.holding: list[str] = []
        self.all_holding = asyncio.Event()
        self._holders = holders
        self.host = HostOps(session_disconnect=self._event)

    def _event(self, vm_id: str, reason: int) -> None:
        (self.loads if reason == 4 else self.holding).append(vm_id)
        if len(self.holding) == self._holders:
            self.all_holding.set()


def write_modules(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return root


def vm_with(tmp_path: Path, files: dict[str, str], limits: Limits | None = None) -> tuple[Sandbox, list[str]]:
    """A VM without a server (stream functions unavailable) that loaded ``files``."""
    write_modules(tmp_path, files)
    vm = Sandbox(
        limits or Limits(timeout_ms=200, max_memory_mb=32),
        binder(Services("nakama", cache=LocalCache()), None),
        generation=1,
        node="nakama",
        version="test",
        env={"region": "eu"},
        log_line=lambda level, message: None,
        claim_once=lambda: True,
    )
    return vm, vm.load(snapshot(tmp_path).modules)


def rpc_vm(tmp_path: Path, body: str, limits: Limits | None = None) -> Sandbox:
    """A VM with an RPC "t" whose body is ``body`` (ctx and payload in scope) and "ok"."""
    source = (
        'local nk = require("nakama")\nnk.register_rpc(function() return "ok" end, "ok")\n'
        'nk.register_rpc(function(ctx, payload)\n' + textwrap.dedent(body) + '\nend, "t")\n'
    )
    vm, errors = vm_with(tmp_path, {"m.lua": source}, limits)
    assert errors == []
    return vm


def call(vm: Sandbox, payload: bytes = b"", rpc: str = "t") -> str | None:
    out = vm.call("rpc", rpc, CallContext(), payload)
    return None if out is None else out.decode()


async def start_runtime(tmp_path: Path, files: dict[str, str], *, engine=None, host: HostOps | None = None, **config) -> Runtime:
    write_modules(tmp_path, files)
    options = {"lua_call_timeout_ms": 500, "lua_max_memory_mb": 32, "lua_pool_size": 2, "hot_reload": False}
    options.update(config)
    engine = engine or make_engine()
    runtime = Runtime(RuntimeConfig(path=str(tmp_path), **options), engine.manager, host=host)
    await runtime.start()
    return runtime
