"""The worker pool's job queue: no more workers awake than the work can use.

Handing a job to a thread costs more than a trivial call: the thread must be woken, and
then it fights the loop (and every other awake worker) for the GIL at each step, each
hand-over a futex wake and a context switch. With the 4 workers of 2 cores all awake, a
socket echo RPC cost 1.5 context switches and ~105 us of server CPU; with one worker, 0.3
switches and ~65 us, at a higher rate and a lower p99 (perf stat, 2026-12-02). More awake
workers only pay while Lua runs, because Lua runs without the GIL. So:

* while calls are short, at most one worker per core is awake (``light``), and no more than
  there are jobs: each takes job after job without sleeping in between, and sleeps when
  there is none (one per core measured better than a single one: less CPU per call, a
  higher rate and a lower p99 on this shared host, where a lone worker woken from sleep
  often waited for a CPU);
* while calls are long (most of the recent jobs took over ``HEAVY``: Lua dominates and runs
  in parallel), every worker is, as before. A share, not a mean time: a short call that
  waited for the GIL now and then must not count, or the waits of all workers awake would
  keep them all awake;
* while jobs wait and no worker has started one for ``STUCK`` (every awake worker is in a
  slow call, or one waiting on the loop), a timer on the loop wakes one more, so a slow
  call never holds up the others for much longer than that. A worker that finds more
  workers awake than these rules want goes back to sleep.

Workers are woken from the loop once per loop iteration (``put`` schedules one ``_kick``),
not once per job. A worker checks for a job and goes to sleep in one step under ``_lock``,
and ``put`` looks for a sleeper after appending, so a job is never left behind with every
worker asleep.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["JobQueue", "Sleeper", "HEAVY", "STUCK"]

HEAVY = 0.0002  # seconds: a job longer than this is long; while most are, every worker is awake
STUCK = 0.001  # seconds in one job after which a worker no longer counts as available
_WEIGHT = 0.125  # of the newest job in the running share of long jobs

T = TypeVar("T")


class Sleeper(Protocol):
    """A worker as the queue sees it."""

    wake: threading.Lock  # created held; released to wake it, taken again as it wakes
    started: float  # monotonic start of its current job, 0 between jobs


class JobQueue(Generic[T]):
    __slots__ = ("_loop", "_workers", "_light", "_jobs", "_lock", "_idle", "_awake", "_timer", "_kicking", "_stopping", "long", "last_start")

    def __init__(self, loop: asyncio.AbstractEventLoop, workers: Sequence[Sleeper]) -> None:
        """``workers`` is the pool's list (replacements are put in place in it)."""
        self._loop = loop
        self._workers = workers
        self._light = max(1, min(os.cpu_count() or 1, len(workers)))  # awake while calls are short
        self._jobs: deque[T | None] = deque()
        self._lock = threading.Lock()
        self._idle: list[Sleeper] = []  # asleep, the most recent last (its caches are warm)
        self._awake = 0  # workers taking or running jobs
        self._timer: asyncio.TimerHandle | None = None
        self._kicking = False  # a _kick is scheduled
        self._stopping = False
        self.last_start = 0.0  # monotonic start of the newest job (set by the worker)
        self.long = 0.0  # running share of the jobs that took over HEAVY

    # Loop side ------------------------------------------------------------------------

    def put(self, job: T) -> None:
        self._jobs.append(job)
        if self._idle and not self._kicking:
            self._kicking = True
            self._loop.call_soon(self._kick)

    def _kick(self) -> None:
        """Wake whom the jobs put since the last kick need, once the loop has run its current
        callbacks: one wake-up for all of them, and the woken worker does not start by
        fighting the loop for the GIL while those callbacks run."""
        self._kicking = False
        jobs = self._jobs
        if not jobs:
            return
        with self._lock:
            if self.heavy:
                for _ in range(min(len(jobs), len(self._idle))):
                    self._wake()
            else:
                while self._idle and self._awake < min(self._light, len(jobs)):
                    self._wake()
        if self._idle and self._timer is None:
            self._timer = self._loop.call_later(STUCK, self._check)

    def _check(self) -> None:
        """While jobs wait: wake one more worker when no worker started a job for STUCK (every
        awake one is in a long job, or waiting on the loop)."""
        self._timer = None
        jobs = self._jobs
        if not jobs or not self._idle:
            return
        if time.monotonic() - self.last_start > STUCK:
            with self._lock:
                if self._idle:
                    self._wake()
        if jobs and self._idle:
            self._timer = self._loop.call_later(STUCK, self._check)

    def stop(self, workers: int) -> None:
        """One end marker per worker, after the jobs already queued; every sleeper wakes."""
        self._stopping = True
        self._jobs.extend([None] * workers)
        with self._lock:
            while self._idle:
                self._wake()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def retire(self) -> None:
        """A worker stuck in its job was given up on (it takes no more jobs)."""
        with self._lock:
            self._awake -= 1

    def _wake(self) -> None:  # with _lock held
        self._awake += 1
        self._idle.pop().wake.release()

    # Worker side ---------------------------------------------------------------------

    def enter(self) -> None:
        """A worker is ready to take jobs (a replacement only once its VM has loaded)."""
        with self._lock:
            self._awake += 1

    def take(self, me: Sleeper) -> T | None:
        """The next job (None: stop), sleeping while there is none or ``me`` is not needed."""
        jobs = self._jobs
        while True:
            if jobs and not self._surplus(me):
                try:
                    return jobs.popleft()
                except IndexError:  # another worker took it
                    pass
            with self._lock:
                if jobs and not self._surplus(me):
                    continue
                self._awake -= 1
                self._idle.append(me)
            me.wake.acquire()  # released by _wake, which counted us awake again

    def ran(self, seconds: float) -> None:
        """A job took ``seconds`` (a plain float update: a lost race only blurs the share)."""
        self.long += ((seconds > HEAVY) - self.long) * _WEIGHT

    @property
    def heavy(self) -> bool:
        return self.long > 0.5

    def _surplus(self, me: Sleeper) -> bool:
        """More workers awake than the rules in the module docstring want."""
        awake = self._awake
        light = self._light
        if awake <= light or self.heavy or self._stopping:
            return False
        return awake > light + self._stuck(me)

    def _stuck(self, me: Sleeper) -> int:
        now = time.monotonic()
        return sum(1 for w in self._workers if w is not me and w.started and now - w.started > STUCK)
