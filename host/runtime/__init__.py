"""The Lua runtime: sandboxed LuaJIT modules with the nk module, run limits and hot reload.

Layout: ``runtime.py`` (generations, calls, reload), ``pool.py`` (worker threads, watchdog),
``outbox.py`` (worker -> loop FIFO), ``sandbox.py`` + ``lua/sandbox.lua`` (one locked VM),
``snapshot.py`` (reading runtime.path), ``nk.py`` (the nk table), ``nk_streams.py``,
``bridge.py`` (what nk functions reach), ``convert.py`` (values across the boundary),
``watcher.py`` (watchfiles), ``context.py`` (CallContext, HostOps), ``errors.py``,
``report.py`` (the generation report), ``annotations.py`` + ``lua/nk_meta.lua`` (LuaLS annotations).
"""

from __future__ import annotations

from .context import CallContext, HostOps
from .errors import CallOutOfMemory, CallTimeout, LoadError, NkArgError, RpcError, RpcNotFound, RuntimeFailure
from .runtime import ReloadResult, Runtime, check_modules, standalone_vm

__all__ = [
    "CallContext",
    "CallOutOfMemory",
    "CallTimeout",
    "HostOps",
    "LoadError",
    "NkArgError",
    "ReloadResult",
    "RpcError",
    "RpcNotFound",
    "Runtime",
    "RuntimeFailure",
    "check_modules",
    "standalone_vm",
]
