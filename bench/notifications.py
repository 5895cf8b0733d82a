"""Notifications benchmark: one RPC notifying 1,000 online users, beside a stream_send fan-out.

Run: python bench/notifications.py [--rounds N] [--calls N] [--engines sqlite,postgres]

A real nkhost process runs lua_modules/bench.lua and bench_notify.lua; 1,000 accounts
connect a socket each (from two load-generator processes) and join the bench stream. Each
round then makes, interleaved in one sitting, ``--calls`` HTTP RPC calls of each kind, one
at a time, and waits until every socket has received what each call sent:

* ``fanout``: one ``nk.stream_send`` to the 1,000 members (the reference path);
* ``live``: ``nk.notifications_send`` of 1,000 non-persistent notifications (one per user);
* ``stored``: the same, persistent: written in one statement, then delivered.

Printed per kind: deliveries per server-CPU-second, and the ratio to the fan-out of the same
round (the issue's target: notifications >= 0.5x the fan-out).
"""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from server import BENCH_LUA, _loop, authenticate, cpu_seconds, engines_main, free_port, postgres_cluster, start_server  # noqa: E402
from wsclient import connect  # noqa: E402

NOTIFY_LUA = ROOT / "lua_modules" / "bench_notify.lua"
KINDS = ("fanout", "live", "stored")
USERS = 1000


def counting_worker(port: int, tokens: list[str], counter, ready, stop) -> None:
    """Sockets on the bench stream; ``counter`` counts every stream_data or notification frame."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        sockets = []
        for token in tokens:
            joined = loop.create_future()

            def on_message(data: bytes, joined=joined) -> None:
                if b'"stream_data"' in data or b'"notifications"' in data:
                    with counter.get_lock():
                        counter.value += 1
                elif not joined.done() and b'"rpc"' in data:
                    joined.set_result(None)

            ws = await connect(port, f"/ws?token={token}&format=json", on_message)
            ws.send_text(b'{"cid":"j","rpc":{"id":"bench.join"}}')
            await joined
            sockets.append(ws)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        for ws in sockets:
            ws.transport.close()

    _loop().run_until_complete(main())


def rpc(port: int, rpc_id: str, payload: str = "") -> None:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v2/rpc/{rpc_id}?http_key=defaulthttpkey", data=body)
    with urllib.request.urlopen(request, timeout=60) as reply:
        reply.read()


def user_id(token: str) -> str:
    middle = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(middle + "=" * (-len(middle) % 4)))["uid"]


def run(engine: str, rounds: int, warmup: float, window: float, calls: int = 20) -> None:
    with postgres_cluster(engine) as cluster, tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        extra = ["--database.address", cluster.address("nkhost")] if cluster is not None else []
        proc = start_server(Path(tmp), port, extra, lua=(BENCH_LUA, NOTIFY_LUA))
        ctx = mp.get_context("fork")
        counter, stop = ctx.Value("q", 0), ctx.Event()
        workers = []
        try:
            tokens = authenticate(port, USERS)
            rpc(port, "bench_notify.setup", json.dumps([user_id(t) for t in tokens]))
            for half in (tokens[::2], tokens[1::2]):
                ready = ctx.Event()
                workers.append(ctx.Process(target=counting_worker, args=(port, half, counter, ready, stop)))
                workers[-1].start()
                ready.wait(300)
            per_cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}
            for r in range(rounds + 1):  # round 0 warms up and is not counted
                for kind in KINDS if r % 2 else reversed(KINDS):
                    start_count, c0 = counter.value, cpu_seconds(proc.pid)
                    for _ in range(calls):
                        rpc(port, f"bench_notify.{kind}")
                    expected = start_count + calls * USERS
                    deadline = time.monotonic() + 60
                    while counter.value < expected and time.monotonic() < deadline:
                        time.sleep(0.01)
                    cpu = cpu_seconds(proc.pid) - c0
                    if r:
                        per_cpu[kind].append((counter.value - start_count) / cpu)
            print(f"[{engine}] {USERS} sockets, {calls} calls per kind per round, {rounds} rounds")
            for kind in KINDS:
                ratios = [a / b for a, b in zip(per_cpu[kind], per_cpu["fanout"])]
                print(f"  {kind:<7} {statistics.median(per_cpu[kind]):>10,.0f} deliveries per server-CPU-second;"
                      f" / fan-out: {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")
        finally:
            stop.set()
            for worker in workers:
                worker.join(30)
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    engines_main(__doc__, run)
