"""Storage benchmark: storage RPCs beside a trivial RPC, and group commit, on both engines.

Run: python bench/storage.py [--rounds N] [--window S] [--engines sqlite,postgres]

For each engine a real nkhost process runs lua_modules/bench.lua and bench_storage.lua;
load generators in other
processes keep one socket RPC outstanding per socket (closed loop, bench/server.py's). Each
round runs, interleaved in one sitting:

* ``bench.echo`` over 64 sockets: the trivial RPC, the reference for server CPU per call;
* ``bench_storage.read`` over 64 sockets: each socket reads its own object;
* ``bench_storage.write`` over 64 sockets and over 1 socket; at most ``runtime.lua_pool_size``
  of those calls are in flight at once (one Lua VM per worker thread);
* ``PUT /v2/storage`` from 64 concurrent writers (keep-alive connections, one object each)
  and from 1: group commit without the Lua pool's bound.

Every write is acknowledged only after its commit is durable (SQLite: ``synchronous=FULL``,
an fsync of the WAL per batch; PostgreSQL: its defaults ``fsync=on, synchronous_commit=on``),
so one writer waits one fsync per write and concurrent writers share them (group commit).

Printed: calls/s and server CPU per call of each, the best and median of the rounds, and the
ratios the issue asks for: storage_read CPU / echo CPU (target <= 2 on SQLite) and 64-writer
rate / 1-writer rate (target >= 5 on SQLite). PostgreSQL runs in a throwaway cluster started
with initdb/pg_ctl (tests/pg.py), fsync on.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from server import (  # noqa: E402
    BENCH_LUA, _loop, authenticate, closed_loop, clock, engines_main, free_port, postgres_cluster, rpc_worker, start_server,
)

STORAGE_LUA = ROOT / "lua_modules" / "bench_storage.lua"

SCENARIOS = (
    ("echo x64", "bench.echo", 64),
    ("storage_read x64", "bench_storage.read", 64),
    ("storage_write x64", "bench_storage.write", 64),
    ("storage_write x1", "bench_storage.write", 1),
    ("REST write x64", "PUT /v2/storage", 64),
    ("REST write x1", "PUT /v2/storage", 1),
)


def rest_write_worker(port: int, tokens: list[str], _rpc: str, _payload: str, warmup: float, window: float, out) -> None:
    """Closed loop of ``PUT /v2/storage`` (one object per request) on one keep-alive
    connection per token: concurrent writers without the Lua pool's limit (one VM per
    worker thread bounds how many nk writes are in flight at once)."""
    import asyncio
    import json

    async def main() -> None:
        start = clock() + warmup
        stop = start + window
        latencies: list[float] = []
        errors = 0

        async def writer(token: str) -> None:
            nonlocal errors
            reader, writer_ = await asyncio.open_connection("127.0.0.1", port)
            body = json.dumps({"objects": [{"collection": "rest", "key": token[-12:], "value": '{"hp":100}'}]}).encode()
            head = (f"PUT /v2/storage HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
            while True:
                t0 = clock()
                writer_.write(head + body)
                status_head = await reader.readuntil(b"\r\n\r\n")
                length = int(status_head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                t1 = clock()
                if not status_head.startswith(b"HTTP/1.1 200"):
                    errors += 1
                if start <= t0 and t1 <= stop:
                    latencies.append(t1 - t0)
                if t1 >= stop:
                    writer_.close()
                    return

        await asyncio.gather(*(writer(t) for t in tokens))
        out.put({"latencies": latencies, "errors": errors})

    _loop().run_until_complete(main())


def core_writes(engine: str, address: str, rounds: int, window: float) -> tuple[list[float], list[float]]:
    """Group commit at the database layer, in this process: StorageCore.write of one object
    per call, from 64 concurrent writers and from 1, interleaved; writes/s of each round."""
    import asyncio
    import time
    import uuid

    from host.config import Config
    from host.features.storage.core import StorageCore, WriteOp
    from host.app import schemas
    from host.storage.engine import database_for
    from host.storage.migrate import migrate

    async def main() -> tuple[list[float], list[float]]:
        config = Config(data_dir=tempfile.mkdtemp(prefix="nkhost-bench-core-"))
        config.database.address = address
        db = database_for(config)
        await db.open()
        await migrate(db, schemas())
        core = StorageCore(db)
        owners = [str(uuid.uuid4()) for _ in range(64)]

        async def run(writers: int) -> float:
            done = 0
            stop = time.perf_counter() + window

            async def writer(owner: str) -> None:
                nonlocal done
                while time.perf_counter() < stop:
                    await core.write([WriteOp("bench", "k", owner, '{"hp":100}')], None)  # durable when it returns
                    done += 1

            start = time.perf_counter()
            await asyncio.gather(*(writer(o) for o in owners[:writers]))
            return done / (time.perf_counter() - start)

        many, one = [], []
        try:
            for _ in range(rounds):
                many.append(await run(64))
                one.append(await run(1))
        finally:
            await db.close()
        return many, one

    return asyncio.run(main())


def run_engine(engine: str, rounds: int, warmup: float, window: float) -> dict[str, list[dict]]:
    with postgres_cluster(engine) as cluster:
        extra = ["--database.address", cluster.create_database("bench")] if cluster else []
        many, one = core_writes(engine, cluster.create_database("bench_core") if cluster else "", rounds, window)
        print(f"\n{engine}: database layer, StorageCore.write of one object, durable on return:")
        print(f"  64 writers {statistics.median(many):,.0f} writes/s, 1 writer {statistics.median(one):,.0f} writes/s: "
              f"ratio median {statistics.median(m / o for m, o in zip(many, one)):.1f} "
              f"(rounds {', '.join(f'{m / o:.1f}' for m, o in zip(many, one))})")
        tmp = Path(tempfile.mkdtemp(prefix=f"nkhost-bench-{engine}-"))
        port = free_port()
        proc = start_server(tmp, port, extra, lua=(BENCH_LUA, STORAGE_LUA))
        try:
            tokens = authenticate(port, 64)
            # Every socket's object exists before reads are measured.
            closed_loop(proc.pid, rpc_worker, [(port, tokens, "bench_storage.write", "")], 0.2, 0.5)
            results: dict[str, list[dict]] = {name: [] for name, _, _ in SCENARIOS}
            for _ in range(rounds):
                for name, rpc, sockets in SCENARIOS:
                    half = max(1, sockets // 2)
                    splits = [(port, tokens[:half], rpc, "")] + ([(port, tokens[half:sockets], rpc, "")] if sockets > 1 else [])
                    worker = rest_write_worker if rpc.startswith("PUT") else rpc_worker
                    results[name].append(closed_loop(proc.pid, worker, splits, warmup, window))
            return results
        finally:
            proc.terminate()
            proc.wait()


def summary(runs: list[dict]) -> dict:
    best = max(runs, key=lambda r: r["rate"])
    return {**best, "median_rate": statistics.median(r["rate"] for r in runs),
            "median_cpu": statistics.median(r["cpu_ms_per_call"] for r in runs)}


def report(engine: str, results: dict[str, list[dict]]) -> None:
    print(f"\n{engine}:")
    s = {name: summary(runs) for name, runs in results.items()}
    for name, r in s.items():
        print(f"  {name:<20} {r['rate']:>8,.0f} calls/s (median {r['median_rate']:,.0f})  "
              f"server CPU {r['cpu_ms_per_call']:.3f} ms/call (median {r['median_cpu']:.3f})  "
              f"p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  errors {r['errors']}")
    # Ratios per round (the scenarios of one round ran back to back), then their median.
    read_cpu = [r["cpu_ms_per_call"] / e["cpu_ms_per_call"] for r, e in zip(results["storage_read x64"], results["echo x64"])]
    write_cpu = [r["cpu_ms_per_call"] / e["cpu_ms_per_call"] for r, e in zip(results["storage_write x64"], results["echo x64"])]
    group = [m["rate"] / o["rate"] for m, o in zip(results["storage_write x64"], results["storage_write x1"])]
    rest_group = [m["rate"] / o["rate"] for m, o in zip(results["REST write x64"], results["REST write x1"])]
    for label, values in (("storage_read CPU / echo CPU", read_cpu), ("storage_write CPU / echo CPU", write_cpu),
                          ("nk writes: 64 sockets / 1 (rate)", group), ("REST writes: 64 writers / 1 (rate)", rest_group)):
        print(f"  {label:<30} median {statistics.median(values):.2f}  rounds {', '.join(f'{v:.2f}' for v in values)}")
    for name, per_cpu in (("echo x64", "echo"), ("storage_read x64", "storage_read"), ("storage_write x64", "storage_write")):
        r = s[name]
        print(f"  {per_cpu:<14} {1000 / r['cpu_ms_per_call']:,.0f} calls per server-CPU-second")


def main() -> None:
    engines_main(__doc__, lambda engine, *run: report(engine, run_engine(engine, *run)))


if __name__ == "__main__":
    main()
