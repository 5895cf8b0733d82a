"""The worker pool: Lua never runs on the event loop.

Each worker thread owns one VM for the current generation and rebuilds it lazily when a
reload publishes a new one; a call runs start to finish on the VM it started on. Jobs go
out through one shared ``SimpleQueue`` (a C put and a lock release: no executor machinery
per call) and come back through the worker's outbox, behind the nk operations the call
made, so a reply never overtakes its own stream events.

lupa releases the GIL while Lua runs, so workers run Lua in parallel. A VM stuck inside a C
function (a backtracking Lua pattern) cannot be interrupted by the instruction hook: the
watchdog retires its worker after the deadline plus a grace period, fails the call, and
starts a replacement; the stuck thread exits when the C call returns, its VM discarded.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from queue import SimpleQueue
from typing import Any

from .context import CallContext
from .errors import CallTimeout, RpcError, RuntimeFailure
from .outbox import Outbox
from .sandbox import Sandbox

__all__ = ["Job", "WorkerPool", "VmFactory"]

log = logging.getLogger("nkhost.runtime")

VmFactory = Callable[[Outbox], Sandbox]
"""Builds a VM for the current generation, its nk calls going through the given outbox."""


@dataclass(slots=True)
class Job:
    future: asyncio.Future[Any]
    kind: str  # "rpc", "req_before", ..., or "shutdown"
    key: str
    mode: str
    ctx: CallContext
    a: Any = None
    b: Any = None
    finish: Callable[[Any], Any] | None = None  # runs on the worker: bytes -> str / dict


def _settle(job: Job, ok: bool, value: Any) -> None:
    future = job.future
    if future.done():  # cancelled by the caller, or failed by the watchdog
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class _Worker:
    __slots__ = ("pool", "index", "outbox", "vm", "job", "started", "retired", "thread")

    def __init__(self, pool: WorkerPool, index: int) -> None:
        self.pool = pool
        self.index = index
        self.outbox = Outbox(pool.loop)
        self.vm: Sandbox | None = None
        self.job: Job | None = None
        self.started = 0.0
        self.retired = False
        self.thread = threading.Thread(target=self._run, name=f"nkhost-lua-{index}", daemon=True)

    def _run(self) -> None:
        jobs = self.pool.jobs
        while not self.retired:
            job = jobs.get()
            if job is None:
                break
            self.job, self.started = job, time.monotonic()
            ok, value = self._execute(job)
            self.job, self.started = None, 0.0
            if self.retired:  # the watchdog already failed this job; a replacement serves the rest
                break
            self.outbox.post(_settle, job, ok, value)
        self.vm = None

    def _execute(self, job: Job) -> tuple[bool, Any]:
        try:
            vm = self._vm()
            if job.kind == "shutdown":
                return True, vm.shutdown(job.ctx)
            value = vm.call(job.kind, job.key, job.ctx, job.a, job.b, job.mode)
            return True, job.finish(value) if job.finish is not None else value
        except RuntimeFailure as exc:
            return False, exc
        except Exception:
            log.exception("runtime worker %d: %s %r failed", self.index, job.kind, job.key)
            return False, RpcError("internal runtime error")

    def _vm(self) -> Sandbox:
        number = self.pool.generation
        vm = self.vm
        if vm is None or vm.generation != number:
            self.vm = None  # drop the old VM before building: one heap at a time
            vm = self.pool.make_vm(self.outbox)
            self.vm = vm
        return vm


class WorkerPool:
    """N workers sharing one job queue; ``generation`` tells them which VM to use."""

    def __init__(self, size: int, loop: asyncio.AbstractEventLoop, make_vm: VmFactory, timeout_ms: int) -> None:
        self.loop = loop
        self.make_vm = make_vm
        self.jobs: SimpleQueue[Job | None] = SimpleQueue()
        self.generation = 0
        self.timeout = timeout_ms / 1000.0
        # The hook aborts at the deadline; only a call stuck in C lives past this.
        self.hard_limit = self.timeout * 1.5 + 0.05
        self._workers = [_Worker(self, i) for i in range(size)]
        self._watchdog: asyncio.Task[None] | None = None
        self.retired = 0

    def start(self) -> None:
        for worker in self._workers:
            worker.thread.start()
        self._watchdog = self.loop.create_task(self._watch(), name="nkhost-lua-watchdog")

    def submit(self, job: Job) -> asyncio.Future[Any]:
        self.jobs.put(job)
        return job.future

    def new_job(self, kind: str, key: str, mode: str, ctx: CallContext, a: Any = None, b: Any = None, finish: Callable[[Any], Any] | None = None) -> Job:
        return Job(self.loop.create_future(), kind, key, mode, ctx, a, b, finish)

    async def _watch(self) -> None:
        interval = min(0.1, self.timeout / 2)
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for worker in list(self._workers):
                started, job = worker.started, worker.job
                if job is not None and started and now - started > self.hard_limit:
                    self._retire(worker, job)

    def _retire(self, worker: _Worker, job: Job) -> None:
        worker.retired = True
        worker.outbox.close()
        log.error(
            "runtime worker %d stuck in %s %r past its %d ms deadline (inside a C function): VM retired and replaced",
            worker.index, job.kind, job.key, int(self.timeout * 1000),
        )
        if not job.future.done():
            job.future.set_exception(CallTimeout(f"call exceeded the {int(self.timeout * 1000)} ms deadline"))
        replacement = _Worker(self, worker.index)
        self._workers[self._workers.index(worker)] = replacement
        replacement.thread.start()
        self.retired += 1

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        for _ in self._workers:
            self.jobs.put(None)
        for worker in self._workers:
            await asyncio.to_thread(worker.thread.join, self.hard_limit + 1.0)
