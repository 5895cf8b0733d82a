"""Helpers for runtime tests: a bare VM for sandbox/limit tests, a Runtime on a temp dir."""

from __future__ import annotations

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

__all__ = ["vm_with", "rpc_vm", "write_modules", "start_runtime", "CallContext", "make_engine"]


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
