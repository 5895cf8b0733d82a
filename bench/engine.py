"""Stream engine benchmark: tracker ops/s, fan-out cost per recipient, memory per presence.

Run: python bench/engine.py   (prints rates; compare runs on the same machine only)
Targets on a 2-core machine: >= 300,000 track+untrack ops/s, <= 1 us per recipient,
<= 400 bytes per presence.
"""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from host.net.envelope import encode, envelope_of  # noqa: E402
from host.streams import MemorySink, MemoryTracker, PresenceMeta, Router, StreamData, StreamId, StreamManager, new_session_id  # noqa: E402

NODE = "nakama"


def best_of(runs: int, fn) -> float:
    return min(fn() for _ in range(runs))


def bench_track_untrack(n: int = 100_000) -> None:
    tracker = MemoryTracker(NODE)
    sids = [new_session_id(NODE) for _ in range(1000)]
    for sid in sids:
        tracker.open_session(sid)
    streams = [StreamId(20, label=f"room{i}") for i in range(100)]
    uids = [f"user-{i}" for i in range(1000)]
    visible, hidden = PresenceMeta(username="player"), PresenceMeta(hidden=True, username="player")
    work = [(sids[i % 1000], streams[(i // 1000) % 100], uids[i % 1000]) for i in range(n)]

    for label, meta in (("visible (events built)", visible), ("hidden (no events)", hidden)):
        def run() -> float:
            track, untrack = tracker.track, tracker.untrack
            t0 = time.perf_counter()
            for sid, stream, uid in work:
                track(sid, stream, uid, meta)
            for sid, stream, uid in work:
                untrack(sid, stream, uid)
            return time.perf_counter() - t0

        # 1,000 sessions x 100 streams: every track in the work list is a new presence.
        elapsed = best_of(5, run)
        ops = 2 * n / elapsed
        print(f"tracker track+untrack, {label}: {ops:,.0f} ops/s ({ops / 2:,.0f} pairs/s, {elapsed / n * 1e6:.2f} us a pair)")

    # The same through the manager, delivering each join/leave event to a 10-member stream.
    tracker = MemoryTracker(NODE)
    router = Router(tracker, encode)
    manager = StreamManager(tracker, router)
    sinks = [MemorySink(new_session_id(NODE), f"u{i}", f"u{i}") for i in range(10)]
    for s in sinks:
        manager.connect(s)
    room = StreamId(20, label="busy")
    for s in sinks[1:]:
        manager.user_join(room, s.user_id, s.session_id, hidden=True)
    actor = sinks[0]
    m = 20_000

    def run_manager() -> float:
        t0 = time.perf_counter()
        for _ in range(m):
            manager.user_join(room, actor.user_id, actor.session_id)
            manager.user_leave(room, actor.user_id, actor.session_id)
        elapsed = time.perf_counter() - t0
        for s in sinks:
            s.drain()
        return elapsed

    elapsed = best_of(3, run_manager)
    print(f"manager join+leave with events delivered to 10 members: {2 * m / elapsed:,.0f} ops/s")


def bench_fanout(members: int = 1000, sends: int = 300) -> None:
    tracker = MemoryTracker(NODE)
    router = Router(tracker, encode)
    manager = StreamManager(tracker, router)
    stream = StreamId(20, label="fanout")
    sinks = [MemorySink(new_session_id(NODE), f"u{i}", f"u{i}", max_bytes=1 << 30) for i in range(members)]
    for s in sinks:
        manager.connect(s)
        manager.user_join(stream, s.user_id, s.session_id, hidden=True)
    payload = '{"op":"move","x":12.5,"y":-3.25,"seq":123456}'

    def run_engine() -> float:
        t0 = time.perf_counter()
        for _ in range(sends):
            manager.send(stream, payload)
        elapsed = time.perf_counter() - t0
        for s in sinks:
            s.drain()
        return elapsed

    def run_naive() -> float:
        # Baseline: encode per recipient, as a naive loop would.
        message = StreamData(stream, payload)
        t0 = time.perf_counter()
        for _ in range(sends):
            for sid in tracker.recipients(stream):
                router.sinks[sid].send(orjson.dumps(envelope_of(message)))
        elapsed = time.perf_counter() - t0
        for s in sinks:
            s.drain()
        return elapsed

    engine = best_of(5, run_engine) / (sends * members) * 1e6
    naive = best_of(3, run_naive) / (sends * members) * 1e6
    print(f"fan-out to {members} members, encode once: {engine:.3f} us per recipient ({1 / engine:,.1f} M deliveries/s)")
    print(f"  baseline, encode per recipient: {naive:.3f} us per recipient ({naive / engine:.1f}x slower)")


def bench_memory(n: int = 100_000) -> None:
    gc.collect()
    tracker = MemoryTracker(NODE)
    # Ids exist before tracking: a connected session owns its id and user id strings.
    sids = [new_session_id(NODE) for _ in range(n)]
    uids = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(n)]
    streams = [StreamId(20, label=f"room{i}") for i in range(100)]
    meta = PresenceMeta(username="player")
    for sid in sids:
        tracker.open_session(sid)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(n):
        tracker.track(sids[i], streams[i % 100], uids[i], meta)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(f"memory: {(after - before) / n:.0f} bytes per presence ({n:,} presences, one per session, 100 streams)")

    gc.collect()
    tracker = MemoryTracker(NODE)
    sessions = sids[: n // 10]
    for sid in sessions:
        tracker.open_session(sid)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(n):
        tracker.track(sessions[i // 10], streams[i % 100], uids[i // 10], meta)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(f"memory: {(after - before) / n:.0f} bytes per presence ({n:,} presences, 10 streams per session)")


if __name__ == "__main__":
    print(f"python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d %H:%M')}")
    bench_track_untrack()
    bench_fanout()
    bench_memory()
