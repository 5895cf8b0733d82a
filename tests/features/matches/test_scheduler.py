"""The match scheduler with stand-in matches: ticks come due on a fixed schedule, and a callback
stuck past the hard limit is abandoned while a new worker serves the others."""

from __future__ import annotations

import threading

from host.features.matches.scheduler import Scheduler

WAIT = 10.0


class Stand:
    """A match whose run() records ticks and may block (as a call stuck in C would)."""

    def __init__(self, scheduler: Scheduler, period: float = 1000.0, block: threading.Event | None = None) -> None:
        self.scheduler, self.period, self.block = scheduler, period, block
        self.stopped = False
        self.call_started = 0.0
        self.ticks: list[float] = []
        self.ran = threading.Event()
        self.abandoned = threading.Event()

    def tick_due(self, at: float) -> None:
        self.ticks.append(at)
        self.scheduler.enqueue(self)

    def ticks_missed(self, count: int) -> None:
        pass

    def run(self) -> None:
        if self.block is not None:
            self.call_started = self.scheduler.clock()
            self.block.wait(WAIT)
            self.call_started = 0.0
        self.ran.set()

    def abandon(self, reason: str) -> None:
        self.stopped = True
        self.abandoned.set()


def test_ticks_come_due_on_the_period():
    scheduler = Scheduler(workers=2, max_workers=2, hard_limit=5.0)
    scheduler.start()
    try:
        match = Stand(scheduler, period=0.01)
        scheduler.add(match)
        assert match.ran.wait(WAIT)
        while len(match.ticks) < 5:
            match.ran.clear()
            assert match.ran.wait(WAIT)
        gaps = [b - a for a, b in zip(match.ticks, match.ticks[1:])]
        assert all(abs(g - 0.01) < 1e-9 or g > 0.01 for g in gaps)  # on the fixed schedule, never early
    finally:
        scheduler.stop()


def test_a_stuck_callback_is_abandoned_and_the_others_keep_running():
    scheduler = Scheduler(workers=1, max_workers=4, hard_limit=0.1, stall=0.05)
    scheduler.start()
    release = threading.Event()
    try:
        stuck = Stand(scheduler, block=release)
        scheduler.enqueue(stuck)
        assert stuck.abandoned.wait(WAIT)
        other = Stand(scheduler)
        scheduler.enqueue(other)
        assert other.ran.wait(WAIT)  # a replacement worker took the stuck one's place
    finally:
        release.set()
        scheduler.stop()
