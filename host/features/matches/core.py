"""The matches feature's core: relayed and authoritative matches of this node, and their listing.

Everything here runs on the event loop except ``create`` and ``signal``, which nk functions
call on their Lua worker (they block that worker, never the loop). Authoritative matches run
on the scheduler's threads (``scheduler.py``); what they send reaches the loop through
``post``, the FIFO the match VMs' own nk calls use, so a match's output keeps its order.
The Lua side (the handler factory) is given by the feature's wiring (``__init__.py``): the
core knows no Lua.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from ...config import Config
from ...errors import ApiError, Code
from ...streams import MODE_MATCH_AUTHORITATIVE, MODE_MATCH_RELAYED, NodeNotFound, PresenceEvent, StreamManager
from . import relayed
from .authoritative import AuthoritativeMatch, MatchEnv, MatchHandler, MatchPresence, Message
from .ids import MatchId
from .registry import ListRequest, MatchEntry, MatchRegistry, MemoryMatchRegistry
from .wire import Member, match_reply
from .scheduler import Scheduler

__all__ = ["Matches", "HandlerFactory", "JOIN_WAIT_SECONDS", "SIGNAL_WAIT_SECONDS"]

log = logging.getLogger("nkhost.match")

JOIN_WAIT_SECONDS = 10.0  # Nakama's fixed wait for a join attempt's answer
SIGNAL_WAIT_SECONDS = 10.0
_MAX_WORKERS = 64

HandlerFactory = Callable[[AuthoritativeMatch, str], MatchHandler]
"""Opens the match's own VM with its handler module loaded; raises ApiError(reason)."""


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


class Matches:
    def __init__(self, config: Config, streams: StreamManager, registry: MatchRegistry | None = None) -> None:
        self.config = config
        self.node = config.name
        self.streams = streams
        self.registry: MatchRegistry = registry or MemoryMatchRegistry(streams.tracker)
        self.env: MatchEnv | None = None
        self.handlers: HandlerFactory | None = None
        self.closing = False
        self._refresher: asyncio.Task[None] | None = None
        self._all_ended = asyncio.Event()
        self._all_ended.set()
        streams.router.listen(MODE_MATCH_RELAYED, self._relayed_event)
        streams.router.listen(MODE_MATCH_AUTHORITATIVE, self._authoritative_event)

    # Lifecycle ---------------------------------------------------------------------------

    def attach(self, post: Callable[..., None], handlers: HandlerFactory) -> None:
        """On the loop, at start: where match output goes and how handlers are opened."""
        config = self.config
        router = self.streams.router
        timeout = config.runtime.lua_call_timeout_ms / 1000
        scheduler = Scheduler(workers=2 * (os.cpu_count() or 1), max_workers=_MAX_WORKERS, hard_limit=timeout * 1.5 + 0.05)
        self.env = MatchEnv(
            node=self.node, config=config.match, post=post, encode=router.encode, send=router.send_bytes,
            kick=self._kick, ended=self._ended, alive=router.sinks.__contains__, scheduler=scheduler,
            max_frame=config.socket.outgoing_queue_size,
        )
        self.handlers = handlers
        scheduler.start()
        self._refresher = asyncio.get_running_loop().create_task(self._refresh_labels(), name="nkhost-match-labels")

    async def close(self) -> None:
        """Shutdown (sockets still open): match_terminate once per match, wait up to
        ``shutdown_grace_sec`` for the matches to end, stop the rest, stop the threads.

        With a grace of 0 match_terminate still runs once (grace_seconds 0) before the
        match stops; Nakama skips it then.
        """
        self.closing = True
        env = self.env
        if env is None:
            return
        grace = self.config.shutdown_grace_sec
        call_timeout = self.config.runtime.lua_call_timeout_ms / 1000
        running = self.registry.running()
        if running:
            loop = asyncio.get_running_loop()
            answered = []
            for match in running:
                future = loop.create_future()
                if match.queue_terminate(grace, lambda result, future=future: env.post(_settle, future, result)):
                    answered.append(future)
            if grace > 0:
                await self.wait_ended(grace)
            elif answered:
                await asyncio.wait(answered, timeout=call_timeout + 1)
            for match in self.registry.running():
                match.stop("server shutdown")
            await self.wait_ended(call_timeout + 1)
        if self._refresher is not None:
            self._refresher.cancel()
        await asyncio.to_thread(env.scheduler.stop, call_timeout * 1.5 + 1)

    async def wait_ended(self, timeout: float) -> bool:
        """Wait until no authoritative match runs on this node; False when ``timeout`` passed."""
        try:
            await asyncio.wait_for(self._all_ended.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _refresh_labels(self) -> None:
        interval = self.config.match.label_update_interval_ms / 1000
        while True:
            await asyncio.sleep(interval)
            self.registry.refresh()

    # Relayed and authoritative: realtime messages (loop) ---------------------------------

    def create_relayed(self, member: Member, name: str, answer: relayed.Answer) -> bool:
        return relayed.create(self.streams, member, name, answer)

    async def join(
        self, member: Member, match_id: MatchId, given: str, metadata: dict[str, str], answer: relayed.Answer, *, by_token: bool = False,
    ) -> bool:
        """Join and ``answer`` the ``match`` reply body before any presence event or match_join
        broadcast this join causes; False when the session closed meanwhile (no reply).
        Raises ApiError: NOT_FOUND, PERMISSION_DENIED (rejected: the reason), RESOURCE_EXHAUSTED."""
        if not match_id.authoritative:
            return relayed.join(self.streams, member, match_id, given, answer, may_create=by_token)
        match = self.registry.get(match_id.uuid) if match_id.node == self.node else None
        if match is None or match.stopped:
            raise ApiError(Code.NOT_FOUND, "Match not found")
        session_id = member.session_id
        if self.streams.get(session_id, match_id.stream, member.user_id) is None:
            presence = MatchPresence(member.user_id, session_id, member.username, self.node)
            allow, reason = await self._attempt(match, presence, member, metadata)
            if not allow:
                raise ApiError(Code.PERMISSION_DENIED, reason or "Match join rejected")
            if match.stopped:
                raise ApiError(Code.NOT_FOUND, "Match not found")
            if not relayed.track(self.streams, match_id, member, given, answer, match.label):
                return False
            # match_join is queued once the reply is written: its broadcasts come after it.
            match.queue_join(presence)
            return True
        answer(match_reply(given, member, relayed.others(self.streams, match_id, member), match.label))
        return True

    async def _attempt(self, match: AuthoritativeMatch, presence: MatchPresence, member: Member, metadata: dict[str, str]) -> tuple[bool, str]:
        env = self.env
        assert env is not None
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if not match.queue_join_attempt(presence, metadata, _joiner(member), lambda result: env.post(_settle, future, result)):
            raise ApiError(Code.RESOURCE_EXHAUSTED, "Match is not currently accepting join requests")
        try:
            allow, reason, _ = await asyncio.wait_for(future, JOIN_WAIT_SECONDS)
        except TimeoutError:
            return False, ""
        return allow, reason

    def leave(self, member: Member, match_id: MatchId) -> None:
        self.streams.user_leave(match_id.stream, member.user_id, member.session_id)

    def send_data(
        self, member: Member, match_id: MatchId, given: str, op_code: int, data: bytes | None, targets: list[str] | None, reliable: bool,
    ) -> bool:
        """``match_data_send``; False only when an authoritative match's input queue is full
        (the message was dropped)."""
        if not match_id.authoritative:
            relayed.send(self.streams, member, match_id, given, op_code, data, targets, reliable)
            return True
        if match_id.node != self.node or self.streams.get(member.session_id, match_id.stream, member.user_id) is None:
            return True  # not a member: dropped silently, as Nakama
        match = self.registry.get(match_id.uuid)
        if match is None:
            return True
        message = Message(member.user_id, member.session_id, member.username, self.node, op_code, data, reliable, time.time_ns() // 1_000_000)
        return match.queue_data(message) or match.stopped

    # Authoritative matches: nk functions -------------------------------------------------

    def create(self, module: str, params: dict[str, Any] | None, register: Callable[..., Any]) -> str:
        """nk.match_create, on the caller's Lua worker: open the match's VM, run match_init,
        then ``register(fn, match)`` runs ``fn(match)`` on the loop. Raises ApiError(reason)."""
        env, handlers = self.env, self.handlers
        if self.closing or env is None or handlers is None:
            raise ApiError(Code.UNAVAILABLE, "shutdown in progress")
        match = AuthoritativeMatch(str(uuid.uuid4()), module, 0, env)
        match.init(handlers(match, module), params)
        register(self._register, match)
        return match.match_id

    def _register(self, match: AuthoritativeMatch) -> None:
        if self.closing:
            match.stop("shutdown in progress")
            raise ApiError(Code.UNAVAILABLE, "shutdown in progress")
        assert self.env is not None
        self.registry.add(match)
        self._all_ended.clear()
        self.env.scheduler.add(match)
        log.info("match %s started (%s, runtime_generation=%d, %d ticks/s)", match.match_id, match.module, match.generation, match.tick_rate)

    def get(self, match_id: MatchId) -> MatchEntry | None:
        return self.registry.entry(match_id)

    def list(self, request: ListRequest) -> list[MatchEntry]:
        return self.registry.list(request)

    def local(self, match_id: MatchId) -> AuthoritativeMatch | None:
        """A running authoritative match of this node (relayed and foreign ids: None)."""
        if not match_id.authoritative or match_id.node != self.node:
            return None
        match = self.registry.get(match_id.uuid)
        return None if match is None or match.stopped else match

    @staticmethod
    def signal(match: AuthoritativeMatch, data: str, timeout: float) -> str:
        """nk.match_signal on the caller's worker: the handler's response ("" for nil).
        Raises ApiError "match busy" (queue full, no answer in time) or the handler's failure."""
        answered = threading.Event()
        box: list[tuple[bool, str]] = []

        def reply(result: tuple[bool, str]) -> None:
            box.append(result)
            answered.set()

        if not match.queue_signal(data, reply):
            raise ApiError(Code.RESOURCE_EXHAUSTED, "match busy")
        if not answered.wait(max(0.0, min(timeout, SIGNAL_WAIT_SECONDS))):
            raise ApiError(Code.DEADLINE_EXCEEDED, "match busy")
        ok, value = box[0]
        if not ok:
            raise ApiError(Code.INTERNAL, value)
        return value or ""

    # Engine events and match output (loop) -----------------------------------------------

    def _relayed_event(self, event: PresenceEvent) -> None:
        if event.joins and event.stream.subject is not None:
            self.registry.relayed_seen(event.stream.subject)

    def _authoritative_event(self, event: PresenceEvent) -> None:
        stream = event.stream
        if stream.label != self.node or stream.subject is None:
            return
        match = self.registry.get(stream.subject)
        if match is None:
            return
        if event.joins:
            match.queue_marks([p.session_id for p in event.joins])
        if event.leaves:
            match.queue_leaves([(MatchPresence(p.user_id, p.session_id, p.username, p.node), int(p.reason)) for p in event.leaves])

    def _kick(self, match: AuthoritativeMatch, presences: list[tuple[str, str]]) -> None:
        stream = MatchId(match.uuid, self.node).stream
        for user_id, session_id in presences:
            try:
                self.streams.user_kick(stream, user_id, session_id)
            except NodeNotFound:
                pass

    def _ended(self, match: AuthoritativeMatch) -> None:
        """The match stopped: forget it, tell its members (every member leaves), close its stream."""
        self.registry.remove(match.uuid)
        stream = MatchId(match.uuid, self.node).stream
        members = self.streams.list(stream)
        if members:
            leaves = [p.to_wire() for p in members if not p.hidden]
            if leaves:
                event = {"match_presence_event": {"match_id": match.match_id, "leaves": leaves}}
                self.streams.router.send_to_sessions([p.session_id for p in members], event)
            self.streams.close(stream)
        if not self.registry.running():
            self._all_ended.set()


def _joiner(member: Member) -> dict[str, Any]:
    """The joining user's fields of match_join_attempt's context (Nakama's, lang aside)."""
    ctx: dict[str, Any] = {"user_id": member.user_id, "username": member.username, "user_session_exp": member.expiry, "session_id": member.session_id}
    if member.vars:
        ctx["vars"] = dict(member.vars)
    if member.client_ip:
        ctx["client_ip"] = member.client_ip
    if member.client_port:
        ctx["client_port"] = member.client_port
    return ctx
