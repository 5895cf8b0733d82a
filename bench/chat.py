"""Chat benchmark: a room of 1,000 members, 8 senders; channel messages delivered per
server-CPU-second, as ratios to a plain ``stream_send`` fan-out of the same size, in one run.

Run: python bench/chat.py [--rounds N] [--warmup S] [--window S] [--engines sqlite,postgres]

A real nkhost process runs lua_modules/bench.lua. 1,000 member sockets (three load-generator
processes) are on the bench stream (``bench.join``) and in the chat room (``channel_join``,
hidden); a sender process holds 16 more sockets, on both too, 8 of them joined to the room
with persistence and 8 without, so every fan-out reaches the same 1,016 sockets. Each round
runs, interleaved (the order rotates every round):

* ``stream_send``: 8 senders call ``bench.send`` (an RPC doing ``nk.stream_send`` to the
  bench stream), each waiting for its own copy and the RPC reply before the next;
* ``chat``: the 8 non-persistent senders send ``channel_message_send``, each waiting for its
  own ``channel_message`` and the ``channel_message_ack``;
* ``chat persistent``: the same with the 8 persistent senders: every message is stored (in
  batches) before it is pushed and acknowledged.

Server CPU comes from /proc over each window (the nkhost process; with PostgreSQL, its
cluster's processes too). Printed: deliveries per server-CPU-second of each, and each chat
scenario's as a ratio to stream_send's in the same round (issue 17's targets: 0.8 and 0.5),
median and per round; then the deliveries every member counted against the sends (lost).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from server import _loop, authenticate, cpu_seconds, engines_main, free_port, postgres_cluster, start_server  # noqa: E402
from wsclient import connect  # noqa: E402

MEMBERS = 1000
SENDERS = 8
ROOM = "bench room"
CHANNEL_ID = "2..." + ROOM
SCENARIOS = ("stream_send", "chat", "chat persistent")


async def _joined(port: int, token: str, on_message, persistence: bool, hidden: bool):
    """A socket on the bench stream and in the room; ``on_message`` sees every later frame."""
    replies: asyncio.Queue[bytes] = asyncio.Queue()
    state = {"setup": True}

    def receive(data: bytes) -> None:
        if state["setup"]:
            if b'"cid"' in data:
                replies.put_nowait(data)
            return
        on_message(data)

    ws = await connect(port, f"/ws?token={token}&format=json", receive)
    ws.send_text(b'{"cid":"j","rpc":{"id":"bench.join"}}')
    assert b'"rpc"' in await replies.get()
    join = {"cid": "c", "channel_join": {"target": ROOM, "type": 1, "persistence": persistence, "hidden": hidden}}
    ws.send_text(json.dumps(join).encode())
    assert b'"channel"' in await replies.get()
    state["setup"] = False
    return ws


def member_worker(port: int, tokens: list[str], ready, stop, out) -> None:
    """Member sockets counting the stream_data and channel_message frames they receive."""

    async def main() -> None:
        counts = {"stream_data": 0, "channel_message": 0}

        def on_message(data: bytes) -> None:
            if b'"stream_data"' in data:
                counts["stream_data"] += 1
            elif b'"channel_message"' in data:
                counts["channel_message"] += 1

        sockets = [await _joined(port, t, on_message, False, True) for t in tokens]
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        out.put(counts)
        for ws in sockets:
            ws.transport.close()

    _loop().run_until_complete(main())


def sender_worker(port: int, tokens: list[str], commands, results) -> None:
    """16 sender sockets (8 persistent in the room, 8 not); runs one scenario per command."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        waiting: dict[int, dict] = {}

        def handler(i: int):
            def on_message(data: bytes) -> None:
                state = waiting.get(i)
                if state is None:
                    return
                if (b'"stream_data"' in data and state["kind"] == "stream_send") or (b'"channel_message"' in data and state["kind"] != "stream_send"):
                    state["echo"] = True
                elif b'"cid":"s"' in data:
                    state["reply"] = True
                    if b'"error"' in data:
                        state["errors"] += 1
                if state["echo"] and state["reply"] and not state["done"].done():
                    state["done"].set_result(None)

            return on_message

        sockets = [await _joined(port, t, handler(i), i < SENDERS, False) for i, t in enumerate(tokens)]
        results.put("ready")
        stream_msg = json.dumps({"cid": "s", "rpc": {"id": "bench.send", "payload": json.dumps({"text": "move", "x": 1.5})}}).encode()
        chat_msg = json.dumps({"cid": "s", "channel_message_send": {"channel_id": CHANNEL_ID, "content": json.dumps({"text": "move", "x": 1.5})}}).encode()
        while True:
            command = await loop.run_in_executor(None, commands.get)
            if command is None:
                break
            kind, warm_until, stop_at = command
            first = 0 if kind == "chat persistent" else SENDERS
            counted = [0]
            total = [0]
            errors = [0]

            async def run(i: int) -> None:
                ws = sockets[i]
                message = stream_msg if kind == "stream_send" else chat_msg
                while time.monotonic() < stop_at:
                    state = waiting[i] = {"kind": kind, "echo": False, "reply": False, "errors": 0, "done": loop.create_future()}
                    t0 = time.monotonic()
                    ws.send_text(message)
                    await state["done"]
                    total[0] += 1
                    errors[0] += state["errors"]
                    if t0 >= warm_until and time.monotonic() <= stop_at:
                        counted[0] += 1
                waiting.pop(i, None)

            await asyncio.gather(*(run(i) for i in range(first, first + SENDERS)))
            results.put({"counted": counted[0], "total": total[0], "errors": errors[0]})
        for ws in sockets:
            ws.transport.close()

    _loop().run_until_complete(main())


def cluster_pids(postmaster: int) -> list[int]:
    """A PostgreSQL cluster's processes: the postmaster and its children."""
    pids = [postmaster]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def busy_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:  # a backend that exited
            continue
    return total


def run_engine(engine: str, rounds: int, warmup: float, window: float) -> None:
    with postgres_cluster(engine) as cluster:
        extra = ["--database.address", cluster.create_database("bench")] if cluster else []
        tmp = Path(tempfile.mkdtemp(prefix=f"nkhost-bench-chat-{engine}-"))
        port = free_port()
        proc = start_server(tmp, port, extra)
        try:
            postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0]) if cluster else 0
            measure(proc.pid, port, postmaster, engine, rounds, warmup, window)
        finally:
            proc.terminate()
            proc.wait()


def measure(pid: int, port: int, postmaster: int, engine: str, rounds: int, warmup: float, window: float) -> None:
    def server_cpu() -> float:
        """The nkhost process, and the cluster's processes of the moment (backends come and go)."""
        return cpu_seconds(pid) + (busy_seconds(cluster_pids(postmaster)) if postmaster else 0.0)

    ctx = mp.get_context("fork")
    stop = ctx.Event()
    counts = ctx.Queue()
    commands, results = ctx.Queue(), ctx.Queue()
    members = []
    try:
        tokens = authenticate(port, 64)
        sockets = [tokens[i % len(tokens)] for i in range(MEMBERS)]
        for group in (sockets[i::3] for i in range(3)):
            ready = ctx.Event()
            p = ctx.Process(target=member_worker, args=(port, group, ready, stop, counts))
            p.start()
            ready.wait(600)
            members.append(p)
        sender = ctx.Process(target=sender_worker, args=(port, tokens[: 2 * SENDERS], commands, results))
        sender.start()
        assert results.get(timeout=120) == "ready"
        recipients = MEMBERS + 2 * SENDERS
        print(f"\n{engine}: nkhost pid {pid}, {recipients} sockets in the room and on the stream, {SENDERS} senders, "
              f"{rounds} rounds of {window:.0f} s, loadavg {os.getloadavg()[0]:.2f}")
        runs: dict[str, list[float]] = {name: [] for name in SCENARIOS}  # deliveries per server-CPU-second
        sent = {"stream_send": 0, "chat": 0}
        errors = 0
        for r in range(rounds):
            order = SCENARIOS[r % 3:] + SCENARIOS[: r % 3]
            for name in order:
                warm_until = time.monotonic() + warmup
                stop_at = warm_until + window
                commands.put((name, warm_until, stop_at))
                time.sleep(max(0.0, warm_until - time.monotonic()))
                c0 = server_cpu()
                time.sleep(max(0.0, stop_at - time.monotonic()))
                c1 = server_cpu()
                result = results.get(timeout=120)
                sent["stream_send" if name == "stream_send" else "chat"] += result["total"]
                errors += result["errors"]
                runs[name].append(result["counted"] * recipients / max(c1 - c0, 1e-9))
                time.sleep(0.5)  # the last fan-out drains before the next window
        commands.put(None)
        sender.join()
        time.sleep(1.0)
        stop.set()
        heard = [counts.get(timeout=60) for _ in members]
        for p in members:
            p.join()
        print(f"{'scenario':<18} {'deliveries per server-CPU-s':>28} {'us CPU/delivery':>16}   ratio to stream_send (rounds)")
        for name in SCENARIOS:
            rates = runs[name]
            ratios = [a / b for a, b in zip(rates, runs["stream_send"])]
            cell = "" if name == "stream_send" else f"   {statistics.median(ratios):.2f} ({', '.join(f'{x:.2f}' for x in ratios)})"
            print(f"{name:<18} {statistics.median(rates):>28,.0f} {1e6 / statistics.median(rates):>16.2f}{cell}")
        lost_stream = sent["stream_send"] * MEMBERS - sum(h["stream_data"] for h in heard)
        lost_chat = sent["chat"] * MEMBERS - sum(h["channel_message"] for h in heard)
        print(f"members heard every message: stream_send lost {lost_stream}, chat lost {lost_chat}; errors {errors}")
    finally:
        stop.set()
        for p in members:
            p.join(10)


if __name__ == "__main__":
    engines_main(__doc__, run_engine)
