"""Match benchmark: authoritative matches at 10 ticks/s with clients, then relayed matches.

Run: python bench/matches.py [--quick] [--matches 500] [--max 1000] [--step 100] [--relayed 1000]

The server runs in this process (the App, on its own event loop thread, as ``nkhost`` runs
it) so the scheduler's tick lateness can be read directly; the clients run in separate
processes (``bench/wsclient.py``), sharing the machine's cores as in bench/server.py.

1. **Bare match_loop**: lua_modules/bench_match.lua's match_loop with 4 inputs, called on one
   match VM in this process (no server): thread CPU per call, on a VM whose data is in the
   CPU caches ("hot") and round-robin over as many VMs as the run holds matches ("cold",
   what a server with that many matches sees).
2. **Authoritative**: ``--matches`` matches of bench_match.lua at 10 ticks/s without clients
   (the scheduler and the VMs alone); then matches each with 4 clients sending 10 messages/s,
   the count growing by ``--step`` up to ``--max``. Per step: tick lateness
   p50/p99 against the schedule (when match_loop starts, minus when the tick was due), ticks
   dropped, server CPU per tick (all of the process: sockets, ticks, broadcasts), and for the
   first phase memory per match (RSS growth over the matches). The most matches
   held is the last step with p99 lateness under one tick (100 ms) and under 1% of ticks
   dropped. Server CPU per tick is also given as a ratio to the bare match_loop.
3. **Relayed**: ``--relayed`` matches of 4 players, each sending 2 messages/s; match_data
   deliveries per server-CPU-second, interleaved with the same clients sending the same
   rate through an RPC that calls nk.stream_send to a 4-member stream, as a ratio.

Numbers from one run compare with each other only: this machine's speed drifts 1.5-2x.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from wsclient import connect, text_frame  # noqa: E402

BENCH_MATCH = ROOT / "lua_modules" / "bench_match.lua"
GROUPS_LUA = """
local nk = require("nakama")
nk.register_rpc(function(ctx, payload)
  nk.stream_user_join(ctx.user_id, ctx.session_id, { mode = 124, subject = payload }, false, false)
  return ""
end, "group_join")
nk.register_rpc(function(ctx, payload)
  local p = nk.json_decode(payload)
  nk.stream_send({ mode = 124, subject = p.g }, p.d, nil, true)
  return ""
end, "group_send")
"""
IDLE, SEND_MATCH, SEND_STREAM, STOP = 0, 1, 2, 3
INPUT = base64.b64encode(b'{"dx":1,"dy":-1}').decode()


def cpu() -> float:
    t = os.times()
    return t.user + t.system


def rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


# Load generators (separate processes) ------------------------------------------------------


def clients(port: int, plan: list[tuple[str, str, str]], rate: float, mode, counters, slot: int, ready) -> None:
    """Sockets (token, target, kind): join an authoritative match (target: its id) or a named
    relayed match and a 4-member stream (target: the name); then send ``rate`` messages/s
    each while ``mode`` says what to send. ``counters[slot]`` counts match_data and
    stream_data frames received."""
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    received = [0]

    class Socket:
        def __init__(self) -> None:
            self.waiting: asyncio.Future | None = None
            self.ws = None

        def on_message(self, data: bytes) -> None:
            if self.waiting is not None and b'"cid"' in data:
                waiting, self.waiting = self.waiting, None
                waiting.set_result(data)
            elif b'_data":' in data:
                received[0] += 1

        async def ask(self, envelope: dict) -> dict:
            self.waiting = loop.create_future()
            self.ws.send_text(json.dumps(envelope).encode())
            return json.loads(await self.waiting)

    def frame(envelope: dict) -> bytes:
        return text_frame(json.dumps(envelope).encode())

    async def join(token: str, target: str, kind: str) -> tuple:
        sock = Socket()
        sock.ws = await connect(port, f"/ws?token={token}&format=json", sock.on_message)
        if kind == "auth":
            await sock.ask({"cid": "j", "match_join": {"match_id": target}})
            frames = {SEND_MATCH: frame({"match_data_send": {"match_id": target, "op_code": "1", "data": INPUT}})}
        else:
            match_id = (await sock.ask({"cid": "j", "match_create": {"name": target}}))["match"]["match_id"]
            group = str(uuid.uuid5(uuid.NAMESPACE_DNS, target))
            await sock.ask({"cid": "g", "rpc": {"id": "group_join", "payload": group}})
            frames = {
                SEND_MATCH: frame({"match_data_send": {"match_id": match_id, "op_code": "1", "data": INPUT}}),
                SEND_STREAM: frame({"rpc": {"id": "group_send", "payload": json.dumps({"g": group, "d": INPUT})}}),
            }
        return sock.ws, frames

    async def main() -> None:
        sockets = []
        for start in range(0, len(plan), 50):  # 50 joins in flight: a slow server slows setup, not by 50x
            sockets += await asyncio.gather(*(join(*entry) for entry in plan[start:start + 50]))
        ready.set()
        # Each socket sends every 1/rate s; the sockets are spread over that period in 10 slices.
        period = 1.0 / rate
        slices = [sockets[i::10] for i in range(10)]
        next_at = loop.time()
        i = 0
        while mode.value != STOP:
            current = mode.value
            if current != IDLE:
                for ws, frames in slices[i % 10]:
                    data = frames.get(current)
                    if data is not None and ws.transport is not None and not ws.transport.is_closing():
                        ws.transport.write(data)
            i += 1
            counters[slot] = received[0]
            next_at += period / 10
            await asyncio.sleep(max(0.0, next_at - loop.time()))
        for ws, _ in sockets:
            ws.transport.close()

    loop.run_until_complete(main())


class Generators:
    """Load generator processes, started in batches; one shared mode switch."""

    def __init__(self, port: int, rate: float) -> None:
        self.ctx = mp.get_context("spawn")
        self.port, self.rate = port, rate
        self.mode = self.ctx.Value("i", IDLE)
        self.counters = self.ctx.Array("q", 64)
        self.procs: list[mp.Process] = []

    def add(self, plan: list[tuple[str, str, str]], per_process: int = 1000) -> None:
        for start in range(0, len(plan), per_process):
            ready = self.ctx.Event()
            proc = self.ctx.Process(target=clients, args=(self.port, plan[start:start + per_process], self.rate, self.mode, self.counters, len(self.procs), ready), daemon=True)
            proc.start()
            if not ready.wait(300):
                raise SystemExit("a load generator did not get ready")
            self.procs.append(proc)

    def received(self) -> int:
        return sum(self.counters[: len(self.procs)])

    def stop(self) -> None:
        self.mode.value = STOP
        for proc in self.procs:
            proc.join(10)


# The server, in this process ----------------------------------------------------------------


class Server:
    """An App on its own event loop thread, as nkhost runs it."""

    def __init__(self, modules: dict[str, str]) -> None:
        from host.app import build_app
        from host.config import Config

        self.tmp = Path(tempfile.mkdtemp(prefix="nkhost-bench-matches-"))
        (self.tmp / "modules").mkdir()
        for name, source in modules.items():
            (self.tmp / "modules" / name).write_text(source)
        config = Config()
        config.data_dir = str(self.tmp / "data")
        config.runtime.path = str(self.tmp / "modules")
        config.runtime.hot_reload = False
        config.socket.address = "127.0.0.1"
        config.socket.port = 0
        config.session.token_expiry_sec = 7200
        config.logger.level = "error"
        try:
            import uvloop

            self.loop = uvloop.new_event_loop()
        except ImportError:
            self.loop = asyncio.new_event_loop()
        self.app = build_app(config)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.call(self.app.start())

    def call(self, coro, timeout: float = 600):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def port(self) -> int:
        return self.app.port

    def tokens(self, n: int) -> list[str]:
        issue = self.app.services.tokens.issue
        return [issue(str(uuid.uuid4()), f"bench{i}").token for i in range(n)]

    def rpc(self, rpc_id: str, payload: str) -> str:
        from host.runtime import CallContext

        return self.call(self.app.services.runtime.call_rpc(rpc_id, CallContext(), payload))

    def close(self) -> None:
        self.call(self.app.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        shutil.rmtree(self.tmp, ignore_errors=True)


# 1. The bare match_loop ------------------------------------------------------------------------


def bare_loop(vms: int, seconds: float) -> tuple[float, float]:
    """(hot, cold) thread CPU in seconds per match_loop with 4 inputs."""
    from host.features.matches.authoritative import MatchPresence, Message
    from host.runtime.bridge import Services
    from host.runtime.localcache import LocalCache
    from host.runtime.match_vm import MatchVm
    from host.runtime.nk import binder
    from host.runtime.sandbox import Limits
    from host.runtime.snapshot import Module

    class Nowhere:  # the dispatcher's target: broadcasts go nowhere
        def broadcast(self, *args): pass
        def kick(self, presences): pass
        def update_label(self, label): pass

    source = BENCH_MATCH.read_bytes()
    sessions = [str(uuid.uuid1()) for _ in range(4)]

    def open_vm() -> MatchVm:
        vm = MatchVm(Nowhere(), f"{uuid.uuid4()}.nakama", "bench_match", limits=Limits(), bind=binder(Services("nakama", cache=LocalCache()), None),
                     generation=1, node="nakama", version="bench", env={}, log_line=lambda level, message: None, claim_once=lambda: False)
        vm.open([Module("bench_match", "bench_match.lua", source)])
        vm.init({"rate": 10})
        vm.join(0, [(MatchPresence(str(uuid.uuid4()), sid, "p", "nakama"), 0) for sid in sessions])
        return vm

    messages = [Message("u", sid, "p", "nakama", 1, b'{"dx":1,"dy":-1}', True, 0) for sid in sessions]
    one = open_vm()

    def per_call(pool: list) -> float:
        calls, started, stop = 0, time.thread_time(), time.monotonic() + seconds
        while time.monotonic() < stop:
            for vm in pool:
                vm.loop(calls, messages)
            calls += len(pool)
        return (time.thread_time() - started) / calls

    hot = per_call([one])
    many = [open_vm() for _ in range(vms)]
    cold = per_call(many)
    return hot, cold


# 2. Authoritative matches ----------------------------------------------------------------------


def create_matches(server: Server, count: int) -> list[str]:
    ids: list[str] = []
    while len(ids) < count:  # one an RPC: opening a VM takes ms, but seconds on a loaded machine, inside the deadline
        ids += json.loads(server.rpc("bench_match_create", json.dumps({"count": 1, "rate": 10})))["ids"]
    return ids


def measure(core, gens: Generators | None, window: float) -> dict:
    matches = core.registry.running()
    sched = core.env.scheduler
    ran0, dropped0 = sum(m.ticks_run for m in matches), sum(m.ticks_dropped for m in matches)
    sched.lateness.clear()
    c0, w0, r0 = cpu(), time.monotonic(), gens.received() if gens else 0
    time.sleep(window)
    c1, w1, r1 = cpu(), time.monotonic(), gens.received() if gens else 0
    late = list(sched.lateness)
    ran = sum(m.ticks_run for m in matches) - ran0
    dropped = sum(m.ticks_dropped for m in matches) - dropped0
    p99 = percentile(late, 99)
    return {
        "ticks": ran / (w1 - w0), "dropped": dropped / max(1, ran + dropped), "p50": percentile(late, 50), "p99": p99,
        "cpu": (c1 - c0) / (w1 - w0), "per_tick": (c1 - c0) / max(1, ran), "frames": (r1 - r0) / (w1 - w0),
        "ok": p99 < 0.1 and dropped < 0.01 * (ran + dropped),
    }


def line(label: str, count: int, r: dict, bare_hot: float, bare_cold: float, per_match: float | None = None) -> str:
    memory = f", {per_match / 1024:4.0f} KB/match" if per_match is not None else ""
    return (f"{label}: {r['ticks']:7,.0f} ticks/s (of {count * 10:,}), dropped {r['dropped'] * 100:4.1f}%, "
            f"lateness p50 {r['p50'] * 1e3:6.1f} ms p99 {r['p99'] * 1e3:6.1f} ms, server CPU {r['cpu'] * 100:4.0f}% = {r['per_tick'] * 1e6:5.0f} us/tick "
            f"({r['per_tick'] / bare_hot:.1f}x the hot bare loop, {r['per_tick'] / bare_cold:.1f}x the cold one), "
            f"{r['frames']:8,.0f} frames/s to clients{memory}, loadavg {os.getloadavg()[0]:.1f}{'' if r['ok'] else '  <- over one tick'}")


def authoritative(args: argparse.Namespace, bare_hot: float, bare_cold: float) -> None:
    server = Server({"bench_match.lua": BENCH_MATCH.read_text()})
    core = server.app.services.features["matches"]
    gens = Generators(server.port, args.msg_rate)
    held = 0
    count = 0
    try:
        gc.collect()
        before = rss()
        ids = create_matches(server, args.matches)
        per_match = (rss() - before) / args.matches
        time.sleep(args.warmup)
        print(line(f"{args.matches:5d} matches, no clients", args.matches, measure(core, None, args.window), bare_hot, bare_cold, per_match))
        for match in core.registry.running():
            match.stop("next phase")
        server.call(core.wait_ended(30))
        while count < args.max:
            step = min(args.step, args.max - count)
            gens.mode.value = IDLE  # the clients pause while the next matches and their clients are set up
            ids = create_matches(server, step)
            count += step
            tokens = server.tokens(step * args.clients)
            gens.add([(tokens[i * args.clients + c], ids[i], "auth") for i in range(step) for c in range(args.clients)])
            gens.mode.value = SEND_MATCH
            time.sleep(args.warmup)
            r = measure(core, gens, args.window)
            held = count if r["ok"] else held
            print(line(f"{count:5d} matches x {args.clients} clients", count, r, bare_hot, bare_cold))
            if not r["ok"] and count >= args.matches:
                break
    finally:
        gens.stop()
        server.close()
    print(f"most matches held at 10 ticks/s with {args.clients} clients each (p99 lateness under one tick, <1% dropped): {held} of {count} tried")


# 3. Relayed matches ----------------------------------------------------------------------------


def relayed(args: argparse.Namespace) -> None:
    server = Server({"groups.lua": GROUPS_LUA})
    gens = Generators(server.port, 2.0)
    rounds = []
    try:
        tokens = server.tokens(args.relayed * 4)
        gens.add([(tokens[i * 4 + c], f"bench-relay-{i}", "relayed") for i in range(args.relayed) for c in range(4)], per_process=2000)
        for _ in range(args.rounds):
            for mode, name in ((SEND_MATCH, "relayed"), (SEND_STREAM, "stream")):
                gens.mode.value = mode
                time.sleep(args.warmup)
                c0, r0, w0 = cpu(), gens.received(), time.monotonic()
                time.sleep(args.window)
                c1, r1, w1 = cpu(), gens.received(), time.monotonic()
                gens.mode.value = IDLE
                time.sleep(0.5)  # drain
                rate = (r1 - r0) / max(1e-9, c1 - c0)
                rounds.append((name, rate))
                print(f"{name:>8}: {(r1 - r0) / (w1 - w0):9,.0f} deliveries/s, {rate:9,.0f} per server-CPU-second")
    finally:
        gens.stop()
        server.close()
    relay = statistics.median(r for n, r in rounds if n == "relayed")
    stream = statistics.median(r for n, r in rounds if n == "stream")
    print(f"relayed match_data deliveries per server-CPU-second: {relay / stream:.2f}x the nk.stream_send fan-out (median of {args.rounds} interleaved rounds; target >= 0.8x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short windows and fewer matches (smoke run)")
    parser.add_argument("--matches", type=int, default=500, help="go on stepping up at least to this many matches")
    parser.add_argument("--max", type=int, default=1000, help="most authoritative matches to try")
    parser.add_argument("--step", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--msg-rate", type=float, default=10.0, help="messages per second per client")
    parser.add_argument("--relayed", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", default="bare,authoritative,relayed")
    args = parser.parse_args()
    args.warmup, args.window = (1.0, 2.0) if args.quick else (2.0, 5.0)
    if args.quick:
        args.matches, args.max, args.step, args.relayed, args.rounds = 100, 100, 50, 100, 1
    only = set(args.only.split(","))
    print(f"cores {os.cpu_count()}, loadavg {os.getloadavg()[0]:.2f}")
    if only & {"bare", "authoritative"}:
        hot, cold = bare_loop(args.matches, 1.0 if args.quick else 3.0)
        print(f"bare match_loop (bench_match.lua, 4 inputs) on one VM: {hot * 1e6:.0f} us hot, {cold * 1e6:.0f} us cold (round-robin over {args.matches} VMs)")
    if "authoritative" in only:
        authoritative(args, hot, cold)
    if "relayed" in only:
        relayed(args)


if __name__ == "__main__":
    main()
