"""End-to-end server benchmark: a real nkhost process, load generators in other processes.

Run: python bench/server.py [--quick] [--rounds N] [--only echo,http,cpu] [--jit] [--pool N]
     python bench/server.py --baseline REV [--rounds N] [--only echo,http,json,cpu]

Loads the shared benchmark module (bench.lua, the one the Go reference server was
measured with) and prints, beside the reference figures quoted in issue 4:
socket RPC bench.echo (64 sockets), HTTP RPC, bench.json, bench.cpu, fan-out to
1,000 sockets with bench.send (8 concurrent senders), and memory per idle socket.
Server CPU comes from /proc/<pid>/stat over each measurement window.

The machine's speed drifts by a factor of 1.5 or more over minutes (a shared host), so each
closed-loop scenario runs --rounds windows and prints the best and the median, and the run
starts with the Lua-only ceiling: bench.cpu called straight on VMs in this process, one VM
per core, no server and no sockets. The server's bench.cpu rate is best read against it.

``--baseline REV`` compares this tree with git revision REV in one sitting: REV is checked
out in a temporary git worktree, both servers run side by side, and every round measures
each closed-loop scenario on both, back to back, alternating which goes first. A ratio
(new/old server CPU per call, rate, p99) is taken within each round, so the machine's drift
between rounds cancels; the median and the spread of the per-round ratios are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import threading
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from wsclient import connect, text_frame  # noqa: E402

BENCH_LUA = ROOT / "lua_modules" / "bench.lua"
CLK = os.sysconf("SC_CLK_TCK")
clock = time.perf_counter  # the uvloop loop clock has millisecond resolution: too coarse for latencies


# Server process ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    tmp: Path, port: int, extra: list[str], root: Path = ROOT, lua: tuple[Path, ...] = (BENCH_LUA,)
) -> subprocess.Popen:
    """nkhost from the tree at ``root`` (``python -m host`` imports the package of its cwd),
    loaded with the ``lua`` modules."""
    modules = tmp / "modules"
    modules.mkdir()
    for module in lua:
        shutil.copy(module, modules / module.name)
    proc = subprocess.Popen(
        [sys.executable, "-m", "host", "--data_dir", str(tmp / "data"), "--runtime.path", str(modules),
         "--socket.address", "127.0.0.1", "--socket.port", str(port), "--logger.level", "error",
         "--runtime.hot_reload", "false", "--session.token_expiry_sec", "7200", *extra],
        cwd=root,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthcheck", timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


@contextlib.contextmanager
def postgres_cluster(engine: str) -> Iterator[Any]:
    """A throwaway PostgreSQL cluster (tests/pg.py, fsync on) for ``engine`` "postgres"; None
    for SQLite. Destroyed on the way out."""
    if engine != "postgres":
        yield None
        return
    from tests.pg import Cluster

    cluster = Cluster(fsync=True)
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()


def engines_main(doc: str, run: Callable[[str, int, float, float], None]) -> None:
    """The command line of the per-engine benchmarks: ``run(engine, rounds, warmup, window)``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--window", type=float, default=3.0)
    parser.add_argument("--engines", default="sqlite,postgres")
    args = parser.parse_args()
    for engine in args.engines.split(","):
        run(engine, args.rounds, args.warmup, args.window)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def authenticate(port: int, n: int) -> list[str]:
    tokens = []
    for i in range(n):
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/v2/account/authenticate/device?create=true",
            data=json.dumps({"id": f"bench-device-{i:06d}-{os.getpid()}"}).encode(),
            headers={"Authorization": "Basic ZGVmYXVsdGtleTo=", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req) as r:
            tokens.append(json.loads(r.read())["token"])
    return tokens


# Load generator processes ------------------------------------------------------------


def _loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


def rpc_worker(port: int, tokens: list[str], rpc_id: str, payload: str, warmup: float, window: float, out: mp.Queue) -> None:
    """Closed loop: each socket keeps one RPC outstanding; latencies kept inside the window.

    Driven from the frame callback (no future or task switch per call): the load generators
    share the server's two cores, so every microsecond they spend is taken from the server.
    """

    async def main() -> None:
        loop = asyncio.get_running_loop()
        start = clock() + warmup
        stop = start + window
        latencies: list[float] = []
        errors = 0
        frame = text_frame(json.dumps({"cid": "1", "rpc": {"id": rpc_id, "payload": payload}}).encode())

        async def run_socket(token: str) -> None:
            finished = loop.create_future()
            sent = [0.0]

            def on_message(reply: bytes) -> None:  # the reply to the one outstanding call
                nonlocal errors
                t = clock()
                if b'"error"' in reply:
                    errors += 1
                if start <= sent[0] and t <= stop:
                    latencies.append(t - sent[0])
                if t >= stop:
                    if not finished.done():
                        finished.set_result(None)
                    return
                sent[0] = t
                ws.transport.write(frame)

            ws = await connect(port, f"/ws?token={token}&format=json", on_message)
            ws.closed.add_done_callback(lambda _: finished.done() or finished.set_result(None))  # closed by the server
            sent[0] = clock()
            ws.transport.write(frame)
            await finished
            ws.transport.close()

        await asyncio.gather(*(run_socket(t) for t in tokens))
        out.put({"latencies": latencies, "errors": errors})

    _loop().run_until_complete(main())


def http_worker(port: int, conns: int, rpc_id: str, warmup: float, window: float, out: mp.Queue) -> None:
    """Keep-alive HTTP/1.1 connections, one RPC request outstanding each."""
    body = json.dumps(json.dumps({"hello": "world"})).encode()
    request = (
        f"POST /v2/rpc/{rpc_id}?http_key=defaulthttpkey HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    request_worker(port, conns, request, warmup, window, out)


def request_worker(port: int, conns: int, request: bytes, warmup: float, window: float, out: mp.Queue) -> None:
    """Keep-alive HTTP/1.1 connections sending ``request`` (a whole HTTP request), one
    outstanding each; a reply other than 200 counts as an error."""

    async def main() -> None:
        start = clock() + warmup
        stop = start + window
        latencies: list[float] = []
        errors = 0

        async def run_conn() -> None:
            nonlocal errors
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            while clock() < stop:
                t0 = clock()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                if not head.startswith(b"HTTP/1.1 200"):
                    errors += 1
                t1 = clock()
                if start <= t0 and t1 <= stop:
                    latencies.append(t1 - t0)
            writer.close()

        await asyncio.gather(*(run_conn() for _ in range(conns)))
        out.put({"latencies": latencies, "errors": errors})

    _loop().run_until_complete(main())


def member_worker(port: int, tokens: list[str], ready: mp.Event, stop: mp.Event, out: mp.Queue) -> None:
    """Sockets that join the bench stream and count the stream_data frames they receive."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        received = [0]
        closed = [0]
        sockets = []

        for token in tokens:
            joined = loop.create_future()

            def on_message(data: bytes, joined=joined) -> None:
                if b'"stream_data"' in data:
                    received[0] += 1
                elif not joined.done() and b'"rpc"' in data:
                    joined.set_result(None)

            ws = await connect(port, f"/ws?token={token}&format=json", on_message)
            ws.closed.add_done_callback(lambda _: closed.__setitem__(0, closed[0] + 1))
            ws.send_text(b'{"cid":"j","rpc":{"id":"bench.join"}}')
            await joined
            sockets.append(ws)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        out.put({"received": received[0], "closed": closed[0]})
        for ws in sockets:
            ws.transport.close()

    _loop().run_until_complete(main())


def sender_worker(port: int, tokens: list[str], warmup: float, window: float, out: mp.Queue) -> None:
    """K senders, each a stream member: send, wait for its own copy and the RPC reply, repeat."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        start = loop.time() + warmup
        stop = start + window
        sends_total = 0
        sends_window = 0

        async def run_sender(token: str) -> None:
            nonlocal sends_total, sends_window
            state = {"joined": loop.create_future(), "echo": None, "reply": None}

            def on_message(data: bytes) -> None:
                if b'"stream_data"' in data:
                    if state["echo"] is not None and not state["echo"].done():
                        state["echo"].set_result(None)
                elif b'"rpc"' in data or b'"error"' in data:
                    fut = state["reply"] if state["reply"] is not None else state["joined"]
                    if not fut.done():
                        fut.set_result(None)

            ws = await connect(port, f"/ws?token={token}&format=json", on_message)
            ws.send_text(b'{"cid":"j","rpc":{"id":"bench.join"}}')
            await state["joined"]
            msg = json.dumps({"cid": "s", "rpc": {"id": "bench.send", "payload": json.dumps({"op": "move", "x": 1.5, "y": 2.5})}}).encode()
            while loop.time() < stop:
                t0 = loop.time()
                state["echo"], state["reply"] = loop.create_future(), loop.create_future()
                ws.send_text(msg)
                await asyncio.gather(state["echo"], state["reply"])
                sends_total += 1
                if start <= t0 and loop.time() <= stop:
                    sends_window += 1
            ws.transport.close()

        await asyncio.gather(*(run_sender(t) for t in tokens))
        out.put({"sends_total": sends_total, "sends_window": sends_window})

    _loop().run_until_complete(main())


def idle_worker(port: int, tokens: list[str], ready: mp.Event, stop: mp.Event, out: mp.Queue) -> None:
    async def main() -> None:
        sockets = [await connect(port, f"/ws?token={t}&format=json", lambda d: None) for t in tokens]
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        out.put({"open": sum(1 for s in sockets if not s.closed.done())})
        for s in sockets:
            s.transport.close()

    _loop().run_until_complete(main())


# Scenarios ----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def closed_loop(pid: int, target, splits: list[tuple], warmup: float, window: float) -> dict:
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, warmup, window, q)) for args in splits]
    for p in procs:
        p.start()
    time.sleep(warmup)
    c0, l0 = cpu_seconds(pid), sum(cpu_seconds(p.pid) for p in procs)
    time.sleep(window)
    c1, l1 = cpu_seconds(pid), sum(cpu_seconds(p.pid) for p in procs)
    results = [q.get(timeout=60) for _ in procs]
    for p in procs:
        p.join()
    latencies = [x for r in results for x in r["latencies"]]
    return {
        "rate": len(latencies) / window,
        "p50_ms": percentile(latencies, 50) * 1e3,
        "p99_ms": percentile(latencies, 99) * 1e3,
        "cpu_ms_per_call": (c1 - c0) / max(1, len(latencies)) * 1e3,
        "client_ms_per_call": (l1 - l0) / max(1, len(latencies)) * 1e3,
        "errors": sum(r["errors"] for r in results),
    }


def rounds(n: int, pid: int, target, splits: list[tuple], warmup: float, window: float) -> dict:
    """The best of n windows, with the median rate beside it."""
    runs = [closed_loop(pid, target, splits, warmup, window) for _ in range(n)]
    best = max(runs, key=lambda r: r["rate"])
    return {**best, "median": statistics.median(r["rate"] for r in runs), "rounds": n}


def fmt(name: str, r: dict, reference: str) -> None:
    spread = f" (median of {r['rounds']}: {r['median']:,.0f})" if r["rounds"] > 1 else ""
    print(f"{name:<28} {r['rate']:>9,.0f} /s{spread}  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
          f"server CPU {r['cpu_ms_per_call']:.3f} ms/call (load generators {r['client_ms_per_call']:.3f})  errors {r['errors']}   [Nakama 3.40: {reference}]")


def lua_ceiling(seconds: float = 3.0) -> None:
    """bench.cpu straight on one VM per core in this process: what the Lua work alone allows now."""
    sys.path.insert(0, str(ROOT))
    from host.runtime import CallContext, standalone_vm

    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(BENCH_LUA, Path(tmp) / "bench.lua")
        vms = [standalone_vm(tmp)[0] for _ in range(cores)]
    ctx = CallContext()
    counts = [0] * cores
    cpu = [0.0] * cores
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        c0 = time.thread_time()
        while time.monotonic() < stop:
            vms[i].call("rpc", "bench.cpu", ctx, b"")
            counts[i] += 1
        cpu[i] = time.thread_time() - c0

    threads = [threading.Thread(target=run, args=(i,)) for i in range(cores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"{'Lua-only ceiling bench.cpu':<28} {sum(counts) / seconds:>9,.0f} /s  on {cores} VM threads in-process, "
          f"{sum(cpu) / max(1, sum(counts)) * 1e6:.0f} us CPU per call (no server, no sockets: the machine's speed now)")


def fanout(pid: int, port: int, tokens: list[str], members: int, senders: int, warmup: float, window: float) -> None:
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    stop = ctx.Event()
    groups = [tokens[i::3] for i in range(3)]
    member_procs = []
    for group in groups:
        ready = ctx.Event()
        p = ctx.Process(target=member_worker, args=(port, group, ready, stop, q))
        p.start()
        ready.wait(300)
        member_procs.append(p)
    sq = ctx.Queue()
    sender = ctx.Process(target=sender_worker, args=(port, tokens[:senders], warmup, window, sq))
    sender.start()
    time.sleep(warmup)
    c0 = cpu_seconds(pid)
    time.sleep(window)
    c1 = cpu_seconds(pid)
    sent = sq.get(timeout=120)
    sender.join()
    time.sleep(1.0)  # let the last broadcasts drain into the member sockets
    stop.set()
    results = [q.get(timeout=60) for _ in member_procs]
    for p in member_procs:
        p.join()
    received = sum(r["received"] for r in results)
    closed = sum(r["closed"] for r in results)
    # Each send reaches every member socket plus the K sender sockets; count member deliveries.
    expected = sent["sends_total"] * members
    rate = sent["sends_window"] * (members + senders) / window
    deliveries = max(1, sent["sends_window"] * (members + senders))
    print(f"{'fan-out bench.send':<28} {rate:>9,.0f} deliveries/s to {members} sockets, {senders} senders; "
          f"lost {expected - received}, sockets dropped {closed}, server CPU {(c1 - c0) / deliveries * 1e6:.1f} us/delivery"
          f"   [Nakama 3.40: 62,000-77,000/s, 0 lost]")


def idle_memory(pid: int, port: int, tokens: list[str], n: int) -> None:
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    stop = ctx.Event()
    base = rss_bytes(pid)
    per_proc = n // 2
    procs = []
    for i in range(2):
        ready = ctx.Event()
        group = [tokens[(i * per_proc + j) % len(tokens)] for j in range(per_proc)]
        p = ctx.Process(target=idle_worker, args=(port, group, ready, stop, q))
        p.start()
        ready.wait(300)
        procs.append(p)
    time.sleep(1.0)
    after = rss_bytes(pid)
    stop.set()
    still_open = sum(q.get(timeout=60)["open"] for _ in procs)
    for p in procs:
        p.join()
    print(f"{'idle sockets':<28} {n} open ({still_open} still open at the end): {(after - base) / n / 1024:.1f} KB server RSS per socket"
          f"   [Nakama 3.40: 38 KB]")


SCENARIOS = ("idle", "echo", "http", "json", "cpu", "fanout")
COMPARED = ("echo", "http", "json", "cpu")  # the closed-loop scenarios --baseline compares
JSON_DOC = json.dumps({"name": "player", "seen": 1, "items": [{"id": i, "score": i * 3, "tag": f"item-{i}"} for i in range(20)]})


def closed_loop_scenario(name: str, pid: int, port: int, tokens: list[str], warmup: float, window: float) -> dict:
    """One window of a closed-loop scenario against the server ``pid`` listening on ``port``."""
    if name == "http":
        return closed_loop(pid, http_worker, [(port, 32, "bench.echo"), (port, 32, "bench.echo")], warmup, window)
    rpc, payload = {"echo": ("bench.echo", "hello"), "json": ("bench.json", JSON_DOC), "cpu": ("bench.cpu", "")}[name]
    return closed_loop(pid, rpc_worker, [(port, tokens[:32], rpc, payload), (port, tokens[32:], rpc, payload)], warmup, window)


def compare(rev: str, only: list[str], n: int, warmup: float, window: float, extra: list[str]) -> None:
    """This tree against ``rev``, interleaved in one sitting (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="nkhost-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), rev], check=True)
        procs = []
        try:
            servers = {}
            for label, root in (("new", ROOT), ("old", tree)):
                port = free_port()
                (Path(tmp) / label).mkdir()
                proc = start_server(Path(tmp) / label, port, extra, root)
                procs.append(proc)
                servers[label] = (proc.pid, port, authenticate(port, 64))
            head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
            print(f"new: this tree (HEAD {head}, uncommitted changes included); old: {rev}; {n} rounds of {window:.0f} s windows, loadavg {os.getloadavg()[0]:.2f}")
            runs: dict[str, dict[str, list[dict]]] = {label: {name: [] for name in only} for label in servers}
            for r in range(n):
                order = ("new", "old") if r % 2 == 0 else ("old", "new")
                for name in only:
                    for label in order:
                        pid, port, tokens = servers[label]
                        runs[label][name].append(closed_loop_scenario(name, pid, port, tokens, warmup, window))
            print(f"{'scenario':<10} {'CPU/call new':>13} {'old':>9} {'new/old (spread)':>24} {'rate new/old':>20} {'p99 new/old':>20} {'p99 new':>9}")
            for name in only:
                new, old = runs["new"][name], runs["old"][name]
                cells = []
                for key in ("cpu_ms_per_call", "rate", "p99_ms"):
                    ratios = [a[key] / b[key] for a, b in zip(new, old) if b[key]]
                    cells.append(f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")
                errors = sum(x["errors"] for x in new + old)
                print(f"{name:<10} {statistics.median(x['cpu_ms_per_call'] for x in new):>10.3f} ms {statistics.median(x['cpu_ms_per_call'] for x in old):>6.3f} ms"
                      f" {cells[0]:>24} {cells[1]:>20} {cells[2]:>20} {statistics.median(x['p99_ms'] for x in new):>6.2f} ms"
                      + (f"  errors {errors}" if errors else ""))
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short windows (smoke run)")
    parser.add_argument("--jit", action="store_true", help="run Lua with the JIT on (runtime.lua_jit)")
    parser.add_argument("--pool", type=int, default=0, help="Lua worker threads (runtime.lua_pool_size); default: the server's")
    parser.add_argument("--rounds", type=int, default=0, help="windows per closed-loop scenario (default 3, 1 with --quick)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(SCENARIOS)} (with --baseline: of {','.join(COMPARED)})")
    parser.add_argument("--baseline", metavar="REV", help="compare with git revision REV, interleaved in one sitting")
    args = parser.parse_args()
    known = COMPARED if args.baseline else SCENARIOS
    only = [name for name in (args.only or ",".join(known)).split(",") if name]
    if not set(only) <= set(known):
        parser.error(f"--only: unknown scenario(s) {', '.join(sorted(set(only) - set(known)))}")
    warmup, window = (0.5, 2.0) if args.quick else (1.5, 8.0)
    n = args.rounds or (1 if args.quick else 3)
    extra = ["--runtime.lua_jit", "true"] if args.jit else []
    if args.pool:
        extra += ["--runtime.lua_pool_size", str(args.pool)]
    if args.baseline:
        compare(args.baseline, only, n, warmup, window, extra)
        return
    lua_ceiling(1.0 if args.quick else 3.0)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = start_server(Path(tmp), port, extra)
        try:
            print(f"nkhost pid {proc.pid}, port {port}, cores {os.cpu_count()}, loadavg {os.getloadavg()[0]:.2f}, jit {'on' if args.jit else 'off'}")
            tokens = authenticate(port, 64)
            halves = (tokens[:32], tokens[32:])

            def socket_rpc(rpc: str, payload: str) -> dict:
                return rounds(n, proc.pid, rpc_worker, [(port, half, rpc, payload) for half in halves], warmup, window)

            if "idle" in only:  # first, on the fresh process: memory freed by later phases would hide the cost
                idle_memory(proc.pid, port, tokens, 5000)
            if "echo" in only:
                fmt("socket RPC bench.echo (64)", socket_rpc("bench.echo", "hello"), "13,200/s p50 4.2 p99 17 ms 0.091 ms CPU")
            if "http" in only:
                fmt("HTTP RPC bench.echo (64)", rounds(n, proc.pid, http_worker, [(port, 32, "bench.echo"), (port, 32, "bench.echo")], warmup, window), "9,800/s")
            if "json" in only:
                fmt("socket RPC bench.json (64)", socket_rpc("bench.json", JSON_DOC), "4,500/s")
            if "cpu" in only:
                fmt("socket RPC bench.cpu (64)", socket_rpc("bench.cpu", ""), "486/s, 3.8 ms CPU")
            if "fanout" in only:
                members = 1000
                fanout(proc.pid, port, [tokens[i % 64] for i in range(members)], members, 8, warmup, window)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
