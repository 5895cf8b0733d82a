"""One authoritative match: its queues, its members as the handler sees them, its ticks.

The handler (``MatchHandler``: the match's own Lua VM, host/runtime/match_vm.py) holds the
game state; this object decides when it is called and what happens with the results, with
Nakama's rules (features §5, NB §2.9) where they serve the designer, and these differences:

* a callback error, a wrong return shape or a full call queue ends **this match** cleanly:
  it is logged with the error's file:line, its members stay connected (Nakama disconnects
  every member's socket) and they are told, as below;
* when a match ends its members get one ``match_presence_event`` listing every member in
  ``leaves`` (Nakama closes the stream silently, so clients never learn it ended);
* ``match_leave`` receives only presences that were in the match (Nakama passes the whole
  batch); calls run in arrival order (Nakama picks among ready queues at random);
* a full input queue drops the message and tells the sender (Nakama only logs).

Threads: the loop calls the ``queue_*`` methods and reads ``size``/``label``; a scheduler
worker runs ``run`` (never two at once for one match); the ticker calls ``tick_due``. The
lock guards the queues, the member list and the scheduling flag, and is never held while
Lua runs. The member list and the join markers are written only by ``run``.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from threading import Lock
from typing import Any, NamedTuple, Protocol

from ...config import MatchConfig
from ...errors import ApiError, Code
from .wire import match_data

__all__ = ["AuthoritativeMatch", "MatchHandler", "MatchPresence", "MatchEnv", "Message", "LABEL_MAX_BYTES"]

log = logging.getLogger("nkhost.match")

LABEL_MAX_BYTES = 2048
_MARKER_SWEEP_SEC = 30


class MatchPresence(NamedTuple):
    user_id: str
    session_id: str
    username: str
    node: str

    def wire(self) -> dict[str, Any]:
        """The UserPresence of a match reply or event (persistence is always false here)."""
        out = {"user_id": self.user_id, "session_id": self.session_id}
        if self.username:
            out["username"] = self.username
        return out


class Message(NamedTuple):
    """One client data message waiting for the next ``match_loop``."""

    user_id: str
    session_id: str
    username: str
    node: str
    op_code: int
    data: bytes | None
    reliable: bool
    receive_time_ms: int


class MatchHandler(Protocol):
    """The game's callbacks. Each returns False (or None for join_attempt) when the handler
    returned a nil state, which ends the match; any exception ends it as an error."""

    def init(self, params: dict[str, Any] | None) -> tuple[int, str]: ...
    def join_attempt(self, tick: int, presence: MatchPresence, metadata: dict[str, str], joiner: dict[str, Any]) -> tuple[bool, str] | None: ...
    def join(self, tick: int, presences: list[tuple[MatchPresence, int]]) -> bool: ...
    def leave(self, tick: int, presences: list[tuple[MatchPresence, int]]) -> bool: ...
    def loop(self, tick: int, messages: list[Message]) -> bool: ...
    def terminate(self, tick: int, grace_seconds: int) -> bool: ...
    def signal(self, tick: int, data: str) -> tuple[bool, str]: ...
    def close(self) -> None: ...


@dataclass(slots=True)
class MatchEnv:
    """What every match reaches, shared."""

    node: str
    config: MatchConfig
    post: Callable[..., None]  # run fn(*args) on the loop, in order with the match VMs' nk calls
    encode: Callable[[dict[str, Any]], bytes]  # an envelope as a ready frame (the Router's encoder)
    send: Callable[[list[str], bytes, bool], Any]  # loop: frame to sessions (Router.send_bytes)
    kick: Callable[[Any, list[tuple[str, str]]], None]  # loop: untrack (user_id, session_id) from a stream
    ended: Callable[[AuthoritativeMatch], None]  # loop: forget the match, tell its members
    alive: Callable[[str], bool]  # is this session connected (a racy read, re-checked on the loop)
    scheduler: Any  # host.features.matches.scheduler.Scheduler
    max_frame: int  # a broadcast frame bigger than this could never be delivered
    clock: Callable[[], float] = time.monotonic


Reply = Callable[[Any], None]  # called on the worker with the outcome of a queued request

# Mailbox kinds and the queue (and limit) each counts against.
_ATTEMPT, _JOIN, _SIGNAL, _LEAVE, _MARK, _TERMINATE = range(6)
_QUEUE_OF = {_ATTEMPT: "join_attempt", _JOIN: "call", _SIGNAL: "signal", _LEAVE: "call", _MARK: "call", _TERMINATE: "call"}


class AuthoritativeMatch:
    def __init__(self, match_uuid: str, module: str, generation: int, env: MatchEnv) -> None:
        self.uuid = match_uuid
        self.match_id = f"{match_uuid}.{env.node}"
        self.module = module
        self.generation = generation
        self.env = env
        self.handler: MatchHandler | None = None
        self.label = ""
        self.tick_rate = 1
        self.create_time = time.time_ns() // 1_000_000
        self.tick = 0
        self.stopped = False
        self.call_started = 0.0  # monotonic start of the running callback, 0 between callbacks
        self.ticks_run = 0
        self.ticks_dropped = 0
        config = env.config
        self._limits = {
            "join_attempt": config.join_attempt_queue_size,
            "signal": config.signal_queue_size,
            "call": config.call_queue_size,
        }
        self._counts = {"join_attempt": 0, "signal": 0, "call": 0}
        self._lock = Lock()
        self._mailbox: deque[tuple[int, Any, Reply | None]] = deque()
        self._inputs: deque[Message] = deque()
        self._tick_at: float | None = None
        self._queued = False
        self._members: dict[str, MatchPresence] = {}
        self._markers: dict[str, tuple[MatchPresence, int]] = {}
        self._deferred: list[tuple[list[str], bytes, bool]] = []
        self._empty_ticks = 0
        self._max_empty = 0
        self._marker_ticks = 0

    # Creation (on the creator's thread, before the match is registered) -------------------

    def init(self, handler: MatchHandler, params: dict[str, Any] | None) -> None:
        """Run match_init; raises ApiError with the reason. The match is not scheduled yet."""
        self.handler = handler
        try:
            rate, label = handler.init(params)
        except Exception as exc:
            handler.close()
            raise ApiError(Code.INTERNAL, getattr(exc, "message", None) or str(exc)) from None
        self.tick_rate, self.label = rate, label
        config = self.env.config
        self._max_empty = rate * config.max_empty_sec
        # Nakama counts whole seconds (a deadline under 1000 ms becomes 0 ticks); this rounds up.
        self._marker_ticks = math.ceil(rate * config.join_marker_deadline_ms / 1000)

    @property
    def period(self) -> float:
        return 1.0 / self.tick_rate

    # Loop side ---------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Members as the handler sees them, accepted joins not yet confirmed included."""
        return len(self._members)

    def members(self) -> list[MatchPresence]:
        with self._lock:
            return list(self._members.values())

    def queue_join_attempt(self, presence: MatchPresence, metadata: dict[str, str], joiner: dict[str, Any], reply: Reply) -> bool:
        """False when the join attempt queue is full or the match ended. ``reply`` gets
        (allow, reason, label)."""
        return self._queue(_ATTEMPT, (presence, metadata, joiner), reply)

    def queue_signal(self, data: str, reply: Reply) -> bool:
        """``reply`` gets (True, response) or (False, error text)."""
        return self._queue(_SIGNAL, data, reply)

    def queue_join(self, presence: MatchPresence) -> None:
        """match_join for an allowed attempt, queued by the loop once the joiner is on the
        match stream and its ``match`` reply is written: what match_join broadcasts reaches
        the joiner after that reply, as in Nakama (the tracker's join reaches the match later)."""
        if not self._queue(_JOIN, [(presence, 0)], None):
            self._call_queue_full()

    def queue_leaves(self, leaves: list[tuple[MatchPresence, int]]) -> None:
        if not self._queue(_LEAVE, leaves, None):
            self._call_queue_full()

    def queue_marks(self, session_ids: list[str]) -> None:
        if not self._queue(_MARK, session_ids, None):
            self._call_queue_full()

    def queue_terminate(self, grace_seconds: int, reply: Reply) -> bool:
        return self._queue(_TERMINATE, grace_seconds, reply)

    def queue_data(self, message: Message) -> bool:
        """False when the input queue is full (the message is dropped) or the match ended."""
        if self.stopped or len(self._inputs) >= self.env.config.input_queue_size:
            return False
        self._inputs.append(message)
        return True

    def stop(self, reason: str) -> None:
        """End the match from outside (shutdown): no further callbacks."""
        self._end(reason, level=logging.INFO)

    def _queue(self, kind: int, payload: Any, reply: Reply | None) -> bool:
        queue = _QUEUE_OF[kind]
        with self._lock:
            if self.stopped or self._counts[queue] >= self._limits[queue]:
                return False
            self._counts[queue] += 1
            self._mailbox.append((kind, payload, reply))
            self._wake()
        return True

    def _call_queue_full(self) -> None:
        if not self.stopped:
            self._end("the call queue is full (match.call_queue_size): the handler is not keeping up", level=logging.WARNING)

    def _wake(self) -> None:
        """With the lock held: make sure a worker will run this match."""
        if not self._queued:
            self._queued = True
            self.env.scheduler.enqueue(self)

    # Ticker side -------------------------------------------------------------------------

    def tick_due(self, at: float) -> None:
        with self._lock:
            if self.stopped:
                return
            if self._tick_at is not None:
                self.ticks_dropped += 1  # the previous tick has not run yet: this one coalesces
                return
            self._tick_at = at
            self._wake()

    def ticks_missed(self, count: int) -> None:
        self.ticks_dropped += count

    def abandon(self, reason: str) -> None:
        self._end(reason, level=logging.ERROR, abandoned=True)

    # Worker side -------------------------------------------------------------------------

    def run(self) -> None:
        with self._lock:
            budget = len(self._mailbox)
        for _ in range(budget):
            with self._lock:
                if self.stopped or not self._mailbox:
                    break
                item = self._mailbox.popleft()
                self._counts[_QUEUE_OF[item[0]]] -= 1
            self._handle(*item)
        if not self.stopped:
            with self._lock:
                at, self._tick_at = self._tick_at, None
            if at is not None:
                self._loop(at)
        with self._lock:
            if not self.stopped:
                if self._mailbox or self._tick_at is not None:
                    self.env.scheduler.enqueue(self)  # still queued: fair turns between matches
                else:
                    self._queued = False
                return
            pending = list(self._mailbox)
            self._mailbox.clear()
            self._inputs.clear()
            self._queued = False
        for kind, _, reply in pending:
            if reply is not None:
                reply(_refusal(kind))
        handler, self.handler = self.handler, None
        if handler is not None:
            handler.close()

    def _handle(self, kind: int, payload: Any, reply: Reply | None) -> None:
        if kind == _ATTEMPT:
            self._join_attempt(*payload, reply)
        elif kind == _JOIN:
            self._join(payload)
        elif kind == _LEAVE:
            self._leave(payload)
        elif kind == _MARK:
            for session_id in payload:
                self._markers.pop(session_id, None)
        elif kind == _SIGNAL:
            self._signal(payload, reply)
        else:
            self._terminate(payload, reply)

    def _call(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        """One callback; None when it failed (the match has then ended)."""
        self.call_started = self.env.clock()
        try:
            return fn(*args)
        except Exception as exc:
            self._failed(name, exc)
            return None
        finally:
            self.call_started = 0.0

    def _join_attempt(self, presence: MatchPresence, metadata: dict[str, str], joiner: dict[str, Any], reply: Reply) -> None:
        if not self.env.alive(presence.session_id):
            reply((False, "", self.label))  # the client went away while its attempt was queued
            return
        assert self.handler is not None
        result = self._call("match_join_attempt", self.handler.join_attempt, self.tick, presence, metadata, joiner)
        if result is None:
            if not self.stopped:
                self._end("match_join_attempt returned nil or no state", level=logging.INFO)
            reply((False, "", self.label))
            return
        allow, reason = result
        self._flush_deferred()
        if allow:
            self._markers[presence.session_id] = (presence, self.tick + self._marker_ticks)
        reply((allow, reason, self.label))

    def _join(self, joins: list[tuple[MatchPresence, int]]) -> None:
        fresh = [(p, reason) for p, reason in joins if p.session_id not in self._members]
        if not fresh:
            return
        with self._lock:
            for p, _ in fresh:
                self._members[p.session_id] = p
        assert self.handler is not None
        self._after("match_join", self._call("match_join", self.handler.join, self.tick, fresh))

    def _leave(self, leaves: list[tuple[MatchPresence, int]]) -> None:
        gone = [(p, reason) for p, reason in leaves if p.session_id in self._members]
        if not gone:
            return
        with self._lock:
            for p, _ in gone:
                self._members.pop(p.session_id, None)
        for p, _ in gone:
            self._markers.pop(p.session_id, None)
        assert self.handler is not None
        self._after("match_leave", self._call("match_leave", self.handler.leave, self.tick, gone))

    def _loop(self, at: float) -> None:
        env = self.env
        env.scheduler.lateness.append(env.clock() - at)
        inputs = self._inputs
        messages = [inputs.popleft() for _ in range(len(inputs))]
        assert self.handler is not None
        if not self._after("match_loop", self._call("match_loop", self.handler.loop, self.tick, messages)):
            return
        self.ticks_run += 1
        if self._marker_ticks and self.tick % (self.tick_rate * _MARKER_SWEEP_SEC) == 0:
            expired = [(p, 0) for p, until in self._markers.values() if until <= self.tick]
            if expired:
                for p, _ in expired:
                    del self._markers[p.session_id]
                self._leave(expired)
                if self.stopped:
                    return
        if self._max_empty:
            if not self._members:
                self._empty_ticks += 1
                if self._empty_ticks >= self._max_empty:
                    self._end(f"empty for {self.env.config.max_empty_sec} s (match.max_empty_sec)", level=logging.INFO)
                    return
            else:
                self._empty_ticks = 0
        self.tick += 1

    def _signal(self, data: str, reply: Reply) -> None:
        assert self.handler is not None
        result = self._call("match_signal", self.handler.signal, self.tick, data)
        if result is None:
            reply((False, "match_signal failed, the match ended"))
            return
        alive, response = result
        self._after("match_signal", alive)
        reply((True, response))  # a nil state ends the match, but the caller still gets the answer

    def _terminate(self, grace: int, reply: Reply | None) -> None:
        assert self.handler is not None
        self._after("match_terminate", self._call("match_terminate", self.handler.terminate, self.tick, grace))
        if reply is not None:
            reply(True)

    def _after(self, name: str, alive: Any) -> bool:
        """After a callback: True when the match goes on (its deferred broadcasts sent)."""
        if alive is None:  # failed: already ended
            return False
        if not alive:
            self._end(f"{name} returned nil or no state", level=logging.INFO)
            return False
        self._flush_deferred()
        return True

    def _failed(self, name: str, exc: Exception) -> None:
        trace = getattr(exc, "trace", "")
        if not hasattr(exc, "message"):  # not an error of the Lua code: a bug on this side
            log.exception("match %s: %s failed", self.match_id, name)
        self._end(f"{name} failed: {exc}" + (f"\n{trace}" if trace else ""), level=logging.ERROR)

    def _end(self, reason: str, *, level: int, abandoned: bool = False) -> None:
        with self._lock:
            if self.stopped:
                return
            if not abandoned:
                self._flush_deferred_locked()
            self.stopped = True
            idle = not self._queued
            if idle:
                self._queued = True
                self.env.scheduler.enqueue(self)  # a worker closes the VM and answers what is queued
        log.log(level, "match %s (%s, runtime_generation=%d) ended: %s", self.match_id, self.module, self.generation, reason)
        self.env.post(self.env.ended, self)

    # Dispatcher (worker, during a callback) ------------------------------------------------

    def broadcast(
        self, op_code: int, data: bytes | None, targets: list[tuple[str, str]] | None, sender: dict[str, str] | None,
        reliable: bool, deferred: bool,
    ) -> None:
        """broadcast_message(_deferred): to every member (targets None), or to the targets that
        are members (session id and node); an empty target list sends nothing."""
        if self.stopped:
            raise ApiError(Code.FAILED_PRECONDITION, "match stopped")
        with self._lock:
            members = self._members
            if targets is None:
                session_ids = list(members)
            else:
                session_ids = [sid for sid, node in targets if (p := members.get(sid)) is not None and p.node == node]
        if not session_ids:
            return
        frame = self.env.encode(match_data(self.match_id, sender, op_code, data, reliable))
        if len(frame) > self.env.max_frame:
            raise ApiError(Code.INVALID_ARGUMENT, f"data of {len(data or b'')} bytes is over the {self.env.max_frame} byte socket limit (socket.outgoing_queue_size)")
        if deferred:
            if len(self._deferred) >= self.env.config.deferred_queue_size:
                raise ApiError(Code.RESOURCE_EXHAUSTED, "too many deferred message broadcasts per tick")
            self._deferred.append((session_ids, frame, reliable))
        else:
            self.env.post(self.env.send, session_ids, frame, reliable)

    def kick(self, presences: list[tuple[str, str, str]]) -> None:
        """match_kick: (user_id, session_id, node) leave the match stream; match_leave follows."""
        if self.stopped:
            raise ApiError(Code.FAILED_PRECONDITION, "match stopped")
        local = [(uid, sid) for uid, sid, node in presences if node == self.env.node]
        if local:
            self.env.post(self.env.kick, self, local)

    def update_label(self, label: str) -> None:
        if self.stopped:
            raise ApiError(Code.FAILED_PRECONDITION, "match stopped")
        if len(label.encode()) > LABEL_MAX_BYTES:
            raise ApiError(Code.INVALID_ARGUMENT, f"match label too long, must be {LABEL_MAX_BYTES} bytes or less")
        self.label = label  # the listing index picks it up within match.label_update_interval_ms

    def _flush_deferred(self) -> None:
        with self._lock:
            if self.stopped:  # abandoned meanwhile: its callback's broadcasts are dropped
                self._deferred.clear()
                return
            self._flush_deferred_locked()

    def _flush_deferred_locked(self) -> None:
        deferred, self._deferred = self._deferred, []
        for session_ids, frame, reliable in deferred:
            self.env.post(self.env.send, session_ids, frame, reliable)


def _refusal(kind: int) -> Any:
    """What a request queued to a match that ended gets."""
    if kind == _ATTEMPT:
        return (False, "", "")
    if kind == _SIGNAL:
        return (False, "the match ended")
    return False
