"""Parties benchmark: what the party layer costs over the plain stream engine, as ratios.

Run: python bench/parties.py   (prints ratios measured in this run, rounds interleaved)

1. ``party_data`` to the other members of an 8-player party (``Parties.send_data``: member
   check, envelope, encode once, fan-out) against ``stream_send`` to the same 8 sessions.
2. Join+leave on a custom stream with the party listener registered on mode 7 against a
   router with no listener (the per-event cost the listener hook adds to every other mode).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from host.config import PartyConfig  # noqa: E402
from host.features.parties.core import Parties  # noqa: E402
from host.features.parties.party import Member, parse_party_id  # noqa: E402
from host.features.parties.registry import MemoryPartyRegistry  # noqa: E402
from host.net.envelope import encode  # noqa: E402
from host.streams import MemorySink, MemoryTracker, Router, StreamId, StreamManager, new_session_id  # noqa: E402

NODE = "nakama"
ROUNDS = 15


def engine(n: int) -> tuple[StreamManager, list[MemorySink]]:
    tracker = MemoryTracker(NODE)
    manager = StreamManager(tracker, Router(tracker, encode))
    sinks = [MemorySink(new_session_id(NODE), f"user{i}", f"user{i}") for i in range(n)]
    for sink in sinks:
        manager.connect(sink)
    return manager, sinks


def drain(sinks: list[MemorySink]) -> None:
    for sink in sinks:
        sink.drain()


def party_data(n_calls: int) -> tuple[float, float]:
    manager, sinks = engine(8)
    parties = Parties(manager, MemoryPartyRegistry(), PartyConfig())
    me = [Member(s.user_id, s.session_id, s.username, NODE) for s in sinks]
    ref = parse_party_id(parties.create(me[0], True, 8, "", False)["party_id"])
    for m in me[1:]:
        parties.join(m, ref)
    others = [s.session_id for s in sinks[1:]]
    stream = ref.stream
    drain(sinks)

    def party() -> float:
        t0 = time.perf_counter()
        for i in range(n_calls):
            parties.send_data(me[0], ref, 5, b"move:12,7")
            if i % 64 == 0:
                drain(sinks)
        return time.perf_counter() - t0

    def plain() -> float:
        t0 = time.perf_counter()
        for i in range(n_calls):
            manager.send(stream, "move:12,7", others)
            if i % 64 == 0:
                drain(sinks)
        return time.perf_counter() - t0

    return interleaved(party, plain)


def listener_overhead(n_calls: int) -> tuple[float, float]:
    with_listener, sinks_a = engine(4)
    Parties(with_listener, MemoryPartyRegistry(), PartyConfig())
    without, sinks_b = engine(4)
    stream = StreamId(20, label="room")

    def run(manager: StreamManager, sinks: list[MemorySink]) -> float:
        sid = sinks[0].session_id
        t0 = time.perf_counter()
        for i in range(n_calls):
            manager.user_join(stream, "user0", sid)
            manager.user_leave(stream, "user0", sid)
            if i % 64 == 0:
                drain(sinks)
        return time.perf_counter() - t0

    return interleaved(lambda: run(with_listener, sinks_a), lambda: run(without, sinks_b))


def interleaved(subject, reference) -> tuple[float, float]:
    """Best of ROUNDS for each, the two alternating so both see the same machine."""
    best_s = best_r = float("inf")
    for _ in range(ROUNDS):
        best_s = min(best_s, subject())
        best_r = min(best_r, reference())
    return best_s, best_r


def main() -> None:
    n = 20_000
    party, plain = party_data(n)
    print(f"party_data to 7 members: {party / n * 1e6:.2f} us a send; stream_send to the same 7: {plain / n * 1e6:.2f} us; ratio {party / plain:.2f}")
    listened, bare = listener_overhead(n)
    print(f"custom-stream join+leave with the party listener: {listened / n * 1e6:.2f} us; without: {bare / n * 1e6:.2f} us; ratio {listened / bare:.3f}")


if __name__ == "__main__":
    main()
