"""Lua runtime benchmark: prints calls/s through the worker pool and the reload time.

Run: ``python bench/runtime.py`` (from the repo root). Numbers on a shared 2-core box are
noisy (about ±30 %); each line is the best of a few rounds.

1. trivial RPC (bench.echo) through the pool;
2. the same with one nk.stream_send to 1,000 in-memory sinks per call (bench.send);
3. a CPU-bound RPC (bench.cpu: A* over a 64x64 map, string.format, json_encode) with the
   JIT off (the default: every loop is under the instruction hook) and on;
4. the time to build and validate a new generation of 50 modules.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from host.config import RuntimeConfig  # noqa: E402
from host.net.envelope import encode  # noqa: E402
from host.runtime import CallContext, Runtime  # noqa: E402
from host.streams import MemorySink, MemoryTracker, Router, StreamId, StreamManager, new_session_id  # noqa: E402

BENCH_LUA = Path(__file__).resolve().parents[1] / "lua_modules" / "bench.lua"
WINDOW = 512  # calls in flight at once


def engine() -> StreamManager:
    tracker = MemoryTracker("nakama")
    return StreamManager(tracker, Router(tracker, encode))


async def rate(runtime: Runtime, rpc: str, payload: str, calls: int, rounds: int = 3, between=None) -> float:
    ctx = CallContext()
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        done = 0
        while done < calls:
            batch = min(WINDOW, calls - done)
            await asyncio.gather(*[runtime.call_rpc(rpc, ctx, payload) for _ in range(batch)])
            done += batch
        best = max(best, calls / (time.perf_counter() - started))
        if between is not None:
            between()
    return best


async def start(path: str, manager: StreamManager, **options) -> Runtime:
    runtime = Runtime(RuntimeConfig(path=path, hot_reload=False, **options), manager)
    await runtime.start()
    return runtime


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="nkhost-bench-"))
    mods = work / "mods"
    mods.mkdir()
    shutil.copy(BENCH_LUA, mods / "bench.lua")
    print(f"lupa LuaJIT runtime, pool size = the default (2 x CPU count), {WINDOW} calls in flight")

    manager = engine()
    runtime = await start(str(mods), manager)
    echo = await rate(runtime, "bench.echo", "x", 20000)
    print(f"trivial RPC (bench.echo):                      {echo:10,.0f} calls/s")

    sinks = []
    stream = StreamId(123, label="bench")
    for i in range(1000):
        sink = MemorySink(new_session_id("nakama"), f"user{i}", f"user{i}", max_bytes=1 << 30)
        manager.connect(sink)
        manager.user_join(stream, sink.user_id, sink.session_id, False, False)
        sinks.append(sink)
    for sink in sinks:
        sink.drain()

    def drain() -> None:
        for sink in sinks:
            sink.drain()

    send = await rate(runtime, "bench.send", "hello", 2000, between=drain)
    print(f"RPC + stream_send to 1,000 sinks (bench.send): {send:10,.0f} calls/s ({send * 1000:,.0f} deliveries/s)")
    await runtime.close()

    for jit in (False, True):
        runtime = await start(str(mods), engine(), lua_jit=jit)
        cpu = await rate(runtime, "bench.cpu", '{"reps":2,"span":12}', 400)
        print(f"CPU-bound RPC (bench.cpu), JIT {'on ' if jit else 'off'}:         {cpu:10,.0f} calls/s")
        await runtime.close()

    fifty = work / "fifty"
    fifty.mkdir()
    for i in range(50):
        body = "\n".join(
            f"function M.f{j}(ctx, payload) return nk.json_encode({{i = {i}, j = {j}, p = payload}}) end" for j in range(20)
        )
        (fifty / f"mod{i:02d}.lua").write_text(
            f'local nk = require("nakama")\nlocal M = {{}}\n{body}\nnk.register_rpc(M.f0, "mod{i}")\nreturn M\n'
        )
    runtime = await start(str(fifty), engine())
    times = []
    for _ in range(5):
        result = await runtime.reload()
        assert result.ok, result.errors
        times.append(result.seconds * 1000)
    print(f"reload of 50 modules (20 functions each):      {min(times):10.1f} ms best, {sorted(times)[2]:.1f} ms median")
    await runtime.close()
    shutil.rmtree(work)


if __name__ == "__main__":
    asyncio.run(main())
