"""Parties: the rules of Nakama's party handler over the stream engine (nakama-features.md §6).

Membership is the stream ``{7, party uuid, label = node}``: a player is a member once the
engine tracks them there, and stops being one when it untracks them, however that happens
(``party_leave``, a removal, a disconnect, ``nk.stream_user_leave``). The core hears every
presence event of mode 7 from the Router before the event is delivered, and keeps the
party's own state (leader, join order, requests) in step with it.

Order on the wire: the engine delivers synchronously, so what an operation pushes reaches
everyone before the caller's reply (push before ack, §0.1). A new member gets its ``party``
message, then everyone (the new member included) the ``party_presence_event``; a leader who
leaves hands over with ``party_leader`` before the others see the leave.

Where Nakama has a bug (§6 ⚠) this does what the player meant, each pinned by a test:

* ``max_size`` 0 is refused like any size outside 1-256 (Nakama made a party nobody fits in);
* the creator gets the ``party`` reply once, without a second push;
* a joiner's ``party`` push carries the label and hidden flag;
* a player already in the party asking again gets "party join request already member"
  (Nakama's check never fired, and an open party lost a seat for each repeat);
* a rejected join request, and a request pending when the party closes, is told with
  ``party_close``; a player leaving (or gone) drops their pending request;
* ``party_update`` changes only the fields it carries (Nakama reset the omitted ones,
  closing a party whose leader only meant to change its label).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from ...config import PartyConfig
from ...errors import ApiError, Code
from ...streams import MODE_PARTY, PresenceEvent, StreamError, StreamManager
from ...streams.presence import Presence
from .. import labelquery
from .party import MAX_SIZE, Member, Party, PartyError, PartyRef, check_label
from .registry import Listing, PartyRegistry

__all__ = ["NAME", "Parties"]

NAME = "parties"
"""The feature's name: its core is ``services.features[NAME]``."""

log = logging.getLogger("nkhost.parties")


class Parties:
    __slots__ = ("streams", "registry", "config", "node", "_tasks")

    def __init__(self, streams: StreamManager, registry: PartyRegistry, config: PartyConfig) -> None:
        self.streams = streams
        self.registry = registry
        self.config = config
        self.node = streams.node
        self._tasks: list[asyncio.Task[None]] = []
        streams.router.listen(MODE_PARTY, self._on_presence_event)

    # Lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """The listing flush and the idle check, each on its own timer."""
        self._tasks.append(asyncio.create_task(_every(self.config.label_update_interval_ms, self.registry.flush)))
        if self.config.idle_check_interval_ms > 0:
            self._tasks.append(asyncio.create_task(_every(self.config.idle_check_interval_ms, self.check_idle)))

    async def shutdown(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # Requests -------------------------------------------------------------------------------

    def create(self, caller: Member, open: bool, max_size: int, label: str, hidden: bool) -> dict[str, Any]:
        """A new party led by the caller; returns its ``party`` message for the reply."""
        if not 1 <= max_size <= MAX_SIZE:
            raise ApiError(Code.INVALID_ARGUMENT, "Invalid party max size, must be 1-256")
        check_label(label, hidden)
        party = Party(str(uuid.uuid4()), self.node, open, max_size, label, hidden, caller, datetime.now(UTC))
        self.registry.add(party)
        try:
            self._track(party, caller)
        except StreamError:
            self.registry.remove(party)
            raise ApiError(Code.INTERNAL, "Error tracking party creation") from None
        self.registry.index(party)
        return party.to_wire(caller)

    def join(self, caller: Member, ref: PartyRef) -> None:
        """Open party: a member at once. Closed: a request the leader hears of."""
        party = self._party(ref)
        if party.member(caller.session_id) is not None:
            raise PartyError("party join request already member")
        if party.full:
            raise PartyError("party full")
        if party.open:
            try:
                self._track(party, caller)
            except StreamError:
                raise ApiError(Code.INTERNAL, "Error tracking party join") from None
            return
        requests = self._live_requests(party)
        if len(requests) >= party.max_size:
            raise PartyError("party join requests full")
        if any(r.user_id == caller.user_id for r in requests):
            raise PartyError("party join request duplicate")
        requests.append(caller)
        self._send([party.leader.session_id], {"party_join_request": {"party_id": party.id, "presences": [caller.to_wire()]}})

    def leave(self, caller: Member, ref: PartyRef) -> None:
        """Always succeeds: untrack (the engine's leave event does the rest) and drop any request."""
        party = self._get(ref)
        if party is not None:
            party.active = True
            party.requests = [r for r in party.requests if r.session_id != caller.session_id]
        self.streams.user_leave(ref.stream, caller.user_id, caller.session_id)

    def promote(self, caller: Member, ref: PartyRef, target: Member) -> None:
        party = self._led(caller, ref)
        member = _find(party.members, target)
        if member is None:
            raise PartyError("party member not found")
        party.leader = member
        self._announce_leader(party)

    def accept(self, caller: Member, ref: PartyRef, target: Member) -> None:
        party = self._led(caller, ref)
        if party.full:
            raise PartyError("party full")
        requests = self._live_requests(party)
        request = _find(requests, target)
        if request is None:
            raise PartyError("party join request not found")
        requests.remove(request)
        try:
            self._track(party, request)
        except StreamError:
            raise PartyError("party could not accept request") from None

    def remove(self, caller: Member, ref: PartyRef, target: Member) -> None:
        """A member leaves the stream and gets ``party_close``; a request is refused with one."""
        party = self._led(caller, ref)
        if party.leader.same_presence(target.user_id, target.session_id, target.username):
            raise PartyError("party cannot remove self")
        member = _find(party.members, target)
        if member is not None:
            party.members.remove(member)  # before the leave event, which then finds nobody to drop
            try:
                self.streams.user_leave(party.stream, member.user_id, member.session_id)
            except StreamError:
                raise PartyError("party could not remove") from None
            self._send([member.session_id], _close_message(party))
            return
        request = _find(party.requests, target)
        if request is None:
            raise PartyError("party member not found")
        party.requests.remove(request)
        self._send([request.session_id], _close_message(party))

    def close(self, caller: Member, ref: PartyRef) -> None:
        """Everyone (the leader included) gets ``party_close``; the stream closes without events."""
        party = self._led(caller, ref)
        self.streams.router.send_to_stream(party.stream, _close_message(party))
        self._stop(party)

    def join_requests(self, caller: Member, ref: PartyRef) -> list[Member]:
        return list(self._live_requests(self._led(caller, ref)))

    def send_data(self, caller: Member, ref: PartyRef, op_code: int, data: bytes) -> None:
        """``party_data`` to every other member, in the order each member's sends arrive."""
        party = self._party(ref)
        sender = party.member(caller.session_id)
        if sender is None:
            raise PartyError("party member not found")
        body: dict[str, Any] = {"party_id": party.id, "presence": sender.to_wire()}
        if op_code:
            body["op_code"] = str(op_code)
        if data:
            body["data"] = base64.b64encode(data).decode()
        self._send([m.session_id for m in party.members if m.session_id != sender.session_id], {"party_data": body})

    def update(self, caller: Member, ref: PartyRef, label: str | None, open: bool | None, hidden: bool | None) -> None:
        """Change the fields given (None keeps one) and tell every member with ``party_update``."""
        party = self._led(caller, ref)
        label = party.label if label is None else label
        open = party.open if open is None else open
        hidden = party.hidden if hidden is None else hidden
        check_label(label, hidden)
        party.label, party.open, party.hidden = label, open, hidden
        self.registry.index(party)
        body: dict[str, Any] = {"party_id": party.id}
        if label:
            body["label"] = label
        if open:
            body["open"] = True
        if hidden:
            body["hidden"] = True
        self.streams.router.send_to_stream(party.stream, {"party_update": body})

    def list(self, limit: int, open: bool | None, show_hidden: bool, query: str, cursor: str) -> tuple[list[Listing], str]:
        """A page of the listing and the cursor of the next page ("" at the end).

        The cursor holds the offset and the filters; it must come back with the same query,
        ``open`` and ``show_hidden`` (the limit may change).
        """
        offset = 0
        if cursor:
            offset = _cursor_offset(cursor, query, open, show_hidden)
        if limit <= 0:
            return [], ""
        try:
            parsed = labelquery.parse(query)
        except labelquery.QueryError as exc:
            raise ApiError(Code.INVALID_ARGUMENT, f"Error listing parties: invalid query: {exc}") from None
        if open is not None:
            parsed = parsed.filtered(labelquery.term("open", open))
        if not show_hidden:
            parsed = parsed.filtered(labelquery.term("hidden", False))
        hits = self.registry.search(parsed, offset, limit + 1)
        if len(hits) <= limit:
            return hits, ""
        return hits[:limit], _cursor(offset + limit, query, open, show_hidden)

    def check_idle(self) -> None:
        """Close parties nobody is tracked in and nothing happened to since the last check
        (a party whose stream a module closed with ``nk.stream_close``)."""
        for party in self.registry.parties():
            if not party.active and self.streams.count(party.stream) == 0:
                self._stop(party)
            else:
                party.active = False

    # The engine's presence events -----------------------------------------------------------

    def _on_presence_event(self, event: PresenceEvent) -> None:
        stream = event.stream
        if stream.label != self.node or stream.subject is None:
            return
        party = self.registry.get(stream.subject)
        if party is None:
            return
        try:
            # An update (nk.stream_user_update) is a leave and a join of the same session: no change.
            joining = {p.session_id for p in event.joins}
            leaves = [p for p in event.leaves if p.session_id not in joining]
            if leaves:
                self._left(party, leaves)
            if event.joins and self.registry.get(stream.subject) is party:
                self._joined(party, event.joins)
        except Exception:
            log.exception("party %s: presence event failed", party.id)

    def _joined(self, party: Party, joins: list[Presence]) -> None:
        party.active = True
        new = []
        for p in joins:
            if party.member(p.session_id) is None:
                member = Member(p.user_id, p.session_id, p.username, p.node)
                party.members.append(member)
                party.reserved.discard(p.session_id)
                new.append(member)
        for member in new:
            if member.session_id != party.leader.session_id:  # the creator has its reply
                self._send([member.session_id], {"party": party.to_wire(member)})

    def _left(self, party: Party, leaves: list[Presence]) -> None:
        party.active = True
        leader_left = False
        for p in leaves:
            member = party.member(p.session_id)
            if member is None or member.node != p.node:
                continue
            party.members.remove(member)
            leader_left = leader_left or party.is_leader(member)
        if not leader_left:
            return
        if not party.members:
            self._stop(party)
            return
        party.leader = party.members[0]
        self._announce_leader(party)

    # Helpers -------------------------------------------------------------------------------------

    def _get(self, ref: PartyRef) -> Party | None:
        return self.registry.get(ref.uuid) if ref.node == self.node else None

    def _party(self, ref: PartyRef) -> Party:
        party = self._get(ref)
        if party is None:
            raise PartyError("party not found")
        party.active = True
        return party

    def _led(self, caller: Member, ref: PartyRef) -> Party:
        party = self._party(ref)
        if not party.is_leader(caller):
            raise PartyError("party leader only")
        return party

    def _track(self, party: Party, player: Member) -> None:
        """Track the player on the party stream, a seat held meanwhile; the join event makes
        them a member. Raises StreamError when their session is gone or closing."""
        party.reserved.add(player.session_id)
        try:
            self.streams.user_join(party.stream, player.user_id, player.session_id, hidden=False, persistence=False)
        finally:
            party.reserved.discard(player.session_id)

    def _live_requests(self, party: Party) -> list[Member]:
        """The pending requests, without those of sessions that have gone since."""
        sink = self.streams.router.sink
        party.requests = [r for r in party.requests if sink(r.session_id) is not None]
        return party.requests

    def _announce_leader(self, party: Party) -> None:
        self.streams.router.send_to_stream(party.stream, {"party_leader": {"party_id": party.id, "presence": party.leader.to_wire()}})

    def _send(self, session_ids: list[str], envelope: dict[str, Any]) -> None:
        self.streams.router.send_to_sessions(session_ids, envelope)

    def _stop(self, party: Party) -> None:
        """Forget the party; pending requesters hear ``party_close``; the stream closes silently."""
        self.registry.remove(party)
        self._send([r.session_id for r in party.requests], _close_message(party))
        party.requests = []
        self.streams.close(party.stream)


def _find(presences: list[Member], target: Member) -> Member | None:
    for m in presences:
        if m.same_presence(target.user_id, target.session_id, target.username):
            return m
    return None


def _close_message(party: Party) -> dict[str, Any]:
    return {"party_close": {"party_id": party.id}}


def _cursor(offset: int, query: str, open: bool | None, show_hidden: bool) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([offset, query, open, show_hidden])).decode().rstrip("=")


def _cursor_offset(cursor: str, query: str, open: bool | None, show_hidden: bool) -> int:
    try:
        offset, c_query, c_open, c_hidden = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise ApiError(Code.INVALID_ARGUMENT, "Error listing parties: invalid cursor") from None
    if type(offset) is not int or offset < 0:
        raise ApiError(Code.INVALID_ARGUMENT, "Error listing parties: invalid cursor")
    if (c_query, c_open, c_hidden) != (query, open, show_hidden):
        raise ApiError(Code.INVALID_ARGUMENT, "Error listing parties: invalid cursor: it belongs to another query")
    return offset


async def _every(interval_ms: int, fn: Callable[[], None]) -> None:
    while True:
        await asyncio.sleep(interval_ms / 1000)
        try:
            fn()
        except Exception:
            log.exception("parties: periodic %s failed", getattr(fn, "__name__", fn))
