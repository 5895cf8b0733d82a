"""Runs one hostile RPC in a real Runtime, then a bystander RPC, in this process; prints one
JSON line. tests/runtime/test_hostile.py runs it as a subprocess, so a crash (SIGSEGV) or a
hang fails that test instead of killing pytest.

    python -m tests.runtime.hostile.serve <module dir> <rpc id> [payload]
"""

from __future__ import annotations

import asyncio
import sys

import orjson

from host.config import RuntimeConfig
from host.runtime import CallContext, Runtime
from host.runtime.errors import RpcError
from tests.streams.helpers import make_engine


async def main(path: str, rpc: str, payload: str) -> dict:
    config = RuntimeConfig(path=path, lua_call_timeout_ms=5000, lua_max_memory_mb=64, lua_pool_size=2, hot_reload=False)
    runtime = Runtime(config, make_engine().manager)
    await runtime.start()
    try:
        try:
            out = {"result": await runtime.call_rpc(rpc, CallContext(), payload)}
        except RpcError as exc:
            out = {"error": exc.message, "code": exc.code}
        out["bystander"] = await runtime.call_rpc("ok", CallContext(), "")
        out["bystander_again"] = await runtime.call_rpc("ok", CallContext(), "")
        return out
    finally:
        await runtime.close()


if __name__ == "__main__":
    result = asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else ""))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
