"""The match scheduler: a ticker thread and a pool of match worker threads.

Every authoritative match is a job that runs on a worker: its queued calls (join attempts,
joins, leaves, signals, terminate) and then its tick's ``match_loop``. A match is in the run
queue at most once (the match keeps that flag), so one match never runs on two workers at
once and its callbacks keep their order; any number of matches run side by side. Nothing of
this runs on the event loop, and the ticker only marks ticks due, so a slow match delays
only itself.

The ticker keeps a heap of next tick times (1 s / tick rate after the previous one, on a
fixed schedule). A tick that comes due while the previous one has not run yet is dropped,
not queued (Go's ticker does the same for Nakama), and a match that fell more than a period
behind skips the ticks it missed.

The pool is elastic: ``workers`` threads always, and when work waits while every worker has
been busy for longer than ``stall`` seconds (a match stuck in a long callback, or one
waiting on another match's signal) the ticker starts another, up to ``max_workers``; extra
workers exit after ``idle`` seconds without work. A callback still running ``hard_limit``
seconds after it started (a job may run several) is inside a C function the Lua deadline
hook cannot stop: its match is abandoned (ended without touching its VM) and a new worker
takes the thread's place; the stuck thread exits when the call returns.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from queue import Empty, SimpleQueue
from typing import Any, Protocol

from ...threads import start_lua_thread

__all__ = ["Scheduler", "Schedulable"]

log = logging.getLogger("nkhost.match")

_SUPERVISE_EVERY = 0.05


class Schedulable(Protocol):
    stopped: bool
    call_started: float  # when the callback running now started (monotonic), 0 between callbacks

    @property
    def period(self) -> float: ...

    def tick_due(self, at: float) -> None:
        """Ticker thread: the tick scheduled for ``at`` is due (enqueue the match if needed)."""

    def ticks_missed(self, count: int) -> None:
        """Ticker thread: ``count`` ticks were skipped because the match fell behind."""

    def run(self) -> None:
        """Worker thread: run what is queued, then the due tick."""

    def abandon(self, reason: str) -> None:
        """Supervisor: the running job is stuck in C; end the match without touching its VM."""


@dataclass(slots=True)
class _Worker:
    thread: threading.Thread
    extra: bool
    match: Any = None
    started: float = 0.0
    retired: bool = False


class Scheduler:
    def __init__(
        self,
        *,
        workers: int,
        max_workers: int,
        hard_limit: float,
        stall: float = 0.1,
        idle: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.min_workers = max(1, workers)
        self.max_workers = max(self.min_workers, max_workers)
        self.hard_limit = hard_limit
        self.stall = stall
        self.idle = idle
        self.lateness: deque[float] = deque(maxlen=200_000)  # seconds, one per tick run (for benchmarks)
        self._runq: SimpleQueue[Any] = SimpleQueue()
        self._heap: list[tuple[float, int, Any]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._workers: list[_Worker] = []
        self._workers_lock = threading.Lock()
        self._stopping = False
        self._ticker: threading.Thread | None = None

    # Lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        for _ in range(self.min_workers):
            self._spawn(extra=False)
        self._ticker = threading.Thread(target=self._tick_loop, name="nkhost-match-ticker", daemon=True)
        self._ticker.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop ticking and let the workers finish their jobs (blocking: call it off the loop)."""
        with self._cond:
            self._stopping = True
            self._heap.clear()
            self._cond.notify_all()
        with self._workers_lock:
            workers = list(self._workers)
        for _ in workers:
            self._runq.put(None)
        deadline = self.clock() + timeout
        for worker in workers:
            worker.thread.join(max(0.0, deadline - self.clock()))
        if self._ticker is not None:
            self._ticker.join(max(0.0, deadline - self.clock()))

    @property
    def worker_count(self) -> int:
        with self._workers_lock:
            return sum(1 for w in self._workers if not w.retired)

    # Matches -----------------------------------------------------------------------------

    def add(self, match: Schedulable) -> None:
        """Start ticking ``match``: its first tick is one period from now."""
        with self._cond:
            if self._stopping:
                return
            entry = (self.clock() + match.period, next(self._seq), match)
            heapq.heappush(self._heap, entry)
            if self._heap[0] is entry:
                self._cond.notify()

    def enqueue(self, match: Schedulable) -> None:
        """Run ``match`` on a worker soon (the caller guarantees it is not queued already)."""
        self._runq.put(match)

    # Ticker ------------------------------------------------------------------------------

    def _tick_loop(self) -> None:
        heap, cond, clock = self._heap, self._cond, self.clock
        next_check = clock()
        while True:
            due: list[tuple[float, int, Any]] = []
            with cond:
                if self._stopping:
                    return
                now = clock()
                wait = min(heap[0][0] - now if heap else _SUPERVISE_EVERY, next_check - now)
                if wait > 0:
                    cond.wait(wait)
                    if self._stopping:
                        return
                    now = clock()
                while heap and heap[0][0] <= now:
                    due.append(heapq.heappop(heap))
            later = []
            for at, seq, match in due:
                if match.stopped:
                    continue
                match.tick_due(at)
                period = match.period
                nxt = at + period
                if nxt <= now:
                    missed = int((now - nxt) // period) + 1
                    match.ticks_missed(missed)
                    nxt += missed * period
                later.append((nxt, seq, match))
            if later:
                with cond:
                    for entry in later:
                        heapq.heappush(heap, entry)
            if now >= next_check:
                next_check = now + _SUPERVISE_EVERY
                self._supervise(now)

    # Workers -----------------------------------------------------------------------------

    def _spawn(self, *, extra: bool) -> None:
        worker = _Worker(threading.Thread(target=lambda: self._work(worker), name="nkhost-match-worker", daemon=True), extra)
        with self._workers_lock:
            self._workers.append(worker)
        start_lua_thread(worker.thread)

    def _work(self, worker: _Worker) -> None:
        runq, clock = self._runq, self.clock
        try:
            while not worker.retired:
                try:
                    match = runq.get(timeout=self.idle) if worker.extra else runq.get()
                except Empty:
                    return  # an extra worker with nothing to do
                if match is None:
                    return
                worker.match, worker.started = match, clock()
                try:
                    match.run()
                except Exception:  # the match logs its own failures; this is a bug in the runner
                    log.exception("match job failed")
                worker.match, worker.started = None, 0.0
        finally:
            with self._workers_lock:
                if worker in self._workers:
                    self._workers.remove(worker)

    def _supervise(self, now: float) -> None:
        with self._workers_lock:
            workers = [w for w in self._workers if not w.retired]
        busy = 0
        for worker in workers:
            started, match = worker.started, worker.match
            if match is None or not started:
                continue
            call_started = match.call_started
            if call_started and now - call_started > self.hard_limit:
                worker.retired = True
                log.error("match callback stuck for %.1f s (inside a C function): match abandoned, worker replaced", now - call_started)
                match.abandon(f"a callback ran past the {self.hard_limit:.1f} s hard limit (stuck in a C function)")
                self._spawn(extra=worker.extra)
                continue
            if now - started > self.stall:
                busy += 1
        if busy == len(workers) and not self._runq.empty() and len(workers) < self.max_workers and not self._stopping:
            self._spawn(extra=True)
