"""The worker pool: Lua never runs on the event loop.

Each worker thread runs its calls on one VM of the current generation. A generation's VMs
are built eagerly on builder threads (``build``), never on the workers, so a slow or spinning
top level does not hold up the calls: one VM per worker, each module's top level run once in
each of them and nowhere else. Only when every VM loaded is the
generation published (``publish``); a worker adopts one of its VMs before its next job, so
a call runs start to finish on the VM it started on, and no call ever waits for a load.
A worker started to replace a retired one builds its own VM before it takes any job.

Every VM has its own outbox: the nk operations of a call (or of a module's top level) and
its completion go to the loop through it in order, so a reply never overtakes its own
stream events, whichever thread built the VM. Jobs go out through one shared ``JobQueue``
(jobqueue.py), which keeps only as many workers awake as the calls can use.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..threads import start_lua_thread
from .context import CallContext
from .errors import CallTimeout, LoadError, RpcError, RuntimeFailure
from .jobqueue import JobQueue
from .outbox import Outbox
from .sandbox import Sandbox
from .snapshot import Module

__all__ = ["Job", "Reply", "WorkerPool", "VmFactory", "Loaded"]

log = logging.getLogger("nkhost.runtime")

VmFactory = Callable[[int, Sequence[Module], Outbox], Sandbox]
"""Builds a VM of generation N with the modules loaded, its nk calls going through the
outbox; raises LoadError ("file:line: message" lines) when a module fails."""

_RETRY_SECONDS, _RETRY_MAX_SECONDS = 0.1, 5.0  # a replacement whose VM failed to load tries again


class Loaded(NamedTuple):
    """A VM that loaded every module of its generation, and its FIFO to the loop."""

    vm: Sandbox
    outbox: Outbox


class Reply:
    """A job's answer as a callback, ``fn(ok, value)`` on the loop, where a caller that needs no
    task gives one (a socket RPC): the part of a future the pool uses, and nothing to await."""

    __slots__ = ("fn", "settled")

    def __init__(self, fn: Callable[[bool, Any], None]) -> None:
        self.fn = fn
        self.settled = False

    def done(self) -> bool:
        return self.settled

    def set_result(self, value: Any) -> None:
        self.settled = True
        self.fn(True, value)

    def set_exception(self, exc: BaseException) -> None:
        self.settled = True
        self.fn(False, exc)


@dataclass(slots=True)
class Job:
    future: asyncio.Future[Any] | Reply
    kind: str  # "rpc", "req_before", ..., or "shutdown"
    key: str
    mode: str
    ctx: CallContext
    a: Any = None
    b: Any = None
    finish: Callable[[Any], Any] | None = None  # runs on the worker: bytes -> str / dict


def _resolve(future: asyncio.Future[Any] | Reply, ok: bool, value: Any) -> None:
    if future.done():  # cancelled by the caller, or failed by the watchdog
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _settle(job: Job, ok: bool, value: Any) -> None:
    _resolve(job.future, ok, value)


class _Worker:
    __slots__ = ("pool", "index", "loaded", "busy", "job", "started", "retired", "thread", "wake")

    def __init__(self, pool: WorkerPool, index: int) -> None:
        self.pool = pool
        self.index = index
        self.loaded: Loaded | None = None
        self.busy: Outbox | None = None  # the outbox of the VM running the current job
        self.job: Job | None = None
        self.started = 0.0
        self.retired = False
        self.thread = threading.Thread(target=self._run, name=f"nkhost-lua-{index}", daemon=True)
        self.wake = threading.Lock()  # the job queue's wake-up (see jobqueue.Sleeper)
        self.wake.acquire()

    def _run(self) -> None:
        pool = self.pool
        if pool.current is not None and not self._load_own():  # a replacement: load before any job
            return
        jobs = pool.jobs
        jobs.enter()
        while not self.retired:
            job = jobs.take(self)
            if job is None:
                break
            self.job, self.started = job, time.monotonic()
            jobs.last_start = self.started
            ok, value = self._execute(job)
            jobs.ran(time.monotonic() - self.started)
            self.job, self.started = None, 0.0
            if self.retired:  # the watchdog already failed this job; a replacement serves the rest
                break
            assert self.busy is not None
            self.busy.post(_settle, job, ok, value)
        self.loaded = self.busy = None

    def _load_own(self) -> bool:
        """Build a VM of the published generation; on failure (a module that loads differently
        from one VM to the next) log it and retry, newest generation first, while the other
        workers serve. False when the pool stopped meanwhile."""
        pause = _RETRY_SECONDS
        while not self.pool.stopping:
            number, modules = self.pool.current
            try:
                outbox = Outbox(self.pool.loop)
                self.loaded = Loaded(self.pool.load(number, modules, outbox), outbox)
                return True
            except RuntimeFailure as exc:
                log.error("runtime worker %d: generation %d failed to load in its new VM, retrying: %s", self.index, number, exc)
            time.sleep(pause)
            pause = min(pause * 10, _RETRY_MAX_SECONDS)
        return False

    def _execute(self, job: Job) -> tuple[bool, Any]:
        try:
            loaded = self._adopt()
            self.busy = loaded.outbox
            if job.kind == "shutdown":
                return True, loaded.vm.shutdown(job.ctx)
            value = loaded.vm.call(job.kind, job.key, job.ctx, job.a, job.b, job.mode)
            return True, job.finish(value) if job.finish is not None else value
        except RuntimeFailure as exc:
            return False, exc
        except Exception:
            log.exception("runtime worker %d: %s %r failed", self.index, job.kind, job.key)
            return False, RpcError("internal runtime error")

    def _adopt(self) -> Loaded:
        """Switch to a VM of the published generation between jobs, never during one."""
        loaded = self.loaded
        if loaded is None or loaded.vm.generation != self.pool.generation:
            self.loaded = None  # the old VM goes now, not after the next call
            loaded = self.loaded = self.pool.ready.pop()
        return loaded


class WorkerPool:
    """N workers sharing one job queue; ``generation`` and ``ready`` say which VMs to use."""

    def __init__(self, size: int, loop: asyncio.AbstractEventLoop, load: VmFactory, timeout_ms: int) -> None:
        self.loop = loop
        self.load = load
        self.generation = 0
        self.current: tuple[int, Sequence[Module]] | None = None  # what a replacement worker loads
        self.ready: list[Loaded] = []  # the published generation's VMs not yet adopted
        self.stopping = False
        self.timeout = timeout_ms / 1000.0
        # The hook aborts at the deadline; only a call stuck in C lives past this.
        self.hard_limit = self.timeout * 1.5 + 0.05
        self._workers = [_Worker(self, i) for i in range(size)]
        self.jobs: JobQueue[Job] = JobQueue(loop, self._workers)
        self._watchdog: asyncio.Task[None] | None = None
        self.retired = 0

    def start(self) -> None:
        for worker in self._workers:
            start_lua_thread(worker.thread)
        self._watchdog = self.loop.create_task(self._watch(), name="nkhost-lua-watchdog")

    async def build(self, number: int, modules: Sequence[Module]) -> tuple[list[Loaded], list[str]]:
        """One VM per worker for generation ``number``, built on threads of their own while
        the workers go on serving the current generation (a module whose top level spins
        until the deadline used to hold every worker for that long: issue 13). The first VM
        is built alone, so a generation that fails costs one load, not one per worker.

        Returns the VMs, or no VMs and the errors ("file:line: message", each once) when any
        VM failed: then none of them is used. Nothing is published here (see ``publish``).
        """
        results = [await self._build_one(number, modules)]
        if not isinstance(results[0], BaseException) and len(self._workers) > 1:
            rest = [self._build_one(number, modules) for _ in self._workers[1:]]
            results += await asyncio.gather(*rest)
        errors: list[str] = []
        for result in results:
            if isinstance(result, LoadError):
                errors.extend(result.errors)
            elif isinstance(result, RpcError):  # retired while stuck in C at load time
                errors.append(f"loading failed: {result.message}")
            elif isinstance(result, BaseException):
                raise result
        if errors:
            return [], list(dict.fromkeys(errors))
        return list(results), []

    async def _build_one(self, number: int, modules: Sequence[Module]) -> Loaded | BaseException:
        """One VM on a builder thread; a build stuck in C past the hard limit is abandoned
        (its thread exits when the C call returns, its VM and outbox discarded)."""
        outbox = Outbox(self.loop)  # load-time nk calls, then the result, in order
        done: asyncio.Future[Loaded] = self.loop.create_future()

        def run() -> None:
            try:
                outbox.post(_resolve, done, True, Loaded(self.load(number, modules, outbox), outbox))
            except RuntimeFailure as exc:  # LoadError ("file:line: message" lines)
                outbox.post(_resolve, done, False, exc)
            except Exception:
                log.exception("runtime generation %d: building a VM failed", number)
                outbox.post(_resolve, done, False, RpcError("internal runtime error"))

        start_lua_thread(threading.Thread(target=run, name=f"nkhost-lua-build-{number}", daemon=True))
        try:
            return await asyncio.wait_for(asyncio.shield(done), self.hard_limit)
        except asyncio.TimeoutError:
            outbox.close()
            log.error("runtime generation %d: a VM stuck loading past the %d ms deadline (inside a C function): abandoned",
                      number, int(self.timeout * 1000))
            return CallTimeout(f"call exceeded the {int(self.timeout * 1000)} ms deadline")
        except Exception as exc:
            return exc

    def publish(self, number: int, modules: Sequence[Module], built: list[Loaded]) -> None:
        """Make ``built`` the VMs of the next jobs; calls already running finish on theirs.

        ``ready`` is set before ``generation``: a worker that sees the new number finds its VMs.
        """
        self.current = (number, modules)
        self.ready = built
        self.generation = number

    def submit(self, job: Job) -> asyncio.Future[Any] | Reply:
        self.jobs.put(job)
        return job.future

    def new_job(
        self, kind: str, key: str, mode: str, ctx: CallContext, a: Any = None, b: Any = None,
        finish: Callable[[Any], Any] | None = None, reply: Callable[[bool, Any], None] | None = None,
    ) -> Job:
        """A job answered through a future, or through ``reply(ok, value)`` when given."""
        return Job(self.loop.create_future() if reply is None else Reply(reply), kind, key, mode, ctx, a, b, finish)

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
        self.jobs.retire()
        if worker.busy is not None:
            worker.busy.close()
        log.error(
            "runtime worker %d stuck in %s %r past its %d ms deadline (inside a C function): VM retired and replaced",
            worker.index, job.kind, job.key, int(self.timeout * 1000),
        )
        if not job.future.done():
            job.future.set_exception(CallTimeout(f"call exceeded the {int(self.timeout * 1000)} ms deadline"))
        replacement = _Worker(self, worker.index)
        self._workers[self._workers.index(worker)] = replacement
        start_lua_thread(replacement.thread)
        self.retired += 1

    async def stop(self) -> None:
        self.stopping = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        self.jobs.stop(len(self._workers))
        for worker in self._workers:
            await asyncio.to_thread(worker.thread.join, self.hard_limit + 1.0)
