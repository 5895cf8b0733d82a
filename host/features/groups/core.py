"""Groups: named communities with roles, join requests and bans, and a group chat (stream mode 3).

Every membership operation is one transaction that locks the group's row first, so changes to
one group take turns and a full group never goes over its ``max_count``; it reads the states
it needs, applies the state machine (``membership.py``) and writes the rows and the group's
``edge_count``. A failure writes nothing: adding ten users to a group with room for five adds
none. After the commit, users who lost their membership (leave, kick, ban) leave the group
stream with the usual presence events, and the notifications go out (added to a group, a join
request to the admins); deleting a group closes its stream without events.

**Group chat system messages.** Nakama stores a chat message for each membership change
(codes 3-9, the affected user as sender) in the same transaction, then broadcasts it on the
group stream. The chat feature does that through ``listeners``: each
``MembershipListener.record`` runs inside the transaction (awaiting only ``tx``), and
``committed`` runs after the commit, on the loop.
"""

from __future__ import annotations

import base64
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from ...accounts.users import valid_ids
from ...errors import ApiError, Code
from ...storage import Database, Queries, UniqueViolation
from ...streams import StreamId, StreamManager, StreamMode
from ..edge_cursor import EdgeCursor, decode_edge_cursor, encode_edge_cursor
from ..notifications.core import Draft
from . import membership as rules
from . import store
from .store import Group, GroupUser, Search, UserGroup

__all__ = [
    "NAME", "GroupsCore", "GroupError", "MembershipChange", "MembershipListener", "group_stream", "Search",
    "NOT_FOUND", "PERMISSION", "FULL", "USER_NOT_FOUND", "LAST_SUPERADMIN", "NAME_IN_USE", "NO_UPDATES",
    "NOT_UPDATED", "USERS_CURSOR", "GROUPS_CURSOR", "LIST_CURSOR", "NAME_FILTER", "CREATOR_INVALID",
]

log = logging.getLogger("nkhost.groups")

NAME = "groups"

# Nakama's runtime error texts (nakama-common runtime/errors.go): what Lua modules see.
NOT_FOUND = "group not found"
PERMISSION = "group permission denied"
FULL = "group is full"
USER_NOT_FOUND = "user not found"
LAST_SUPERADMIN = "user is last group superadmin"
NAME_IN_USE = "group name in use"
NO_UPDATES = "no group updates"
NOT_UPDATED = "group not updated"
USERS_CURSOR = "group user cursor invalid"
GROUPS_CURSOR = "user group cursor invalid"
CREATOR_INVALID = "group creator user ID not valid"
LIST_CURSOR = "Malformed cursor was used."
NAME_FILTER = "name filter cannot be combined with any other filter"

# Nakama's column sizes, checked here so both engines refuse the same input.
_SIZES = {"name": 255, "description": 255, "avatar_url": 512, "lang_tag": 18}


class GroupError(ApiError):
    """A refusal by the group rules. ``reason`` is Nakama's runtime text; each REST door maps
    it to its endpoint's code and text (unmapped ones are 400 / 3 with the reason)."""

    def __init__(self, reason: str) -> None:
        super().__init__(Code.INVALID_ARGUMENT, reason)
        self.reason = reason


def group_stream(group_id: str) -> StreamId:
    return StreamId(StreamMode.GROUP, group_id)


@dataclass(frozen=True, slots=True)
class MembershipChange:
    """One group chat system message: ``code`` 3-9 (``membership.JOINED`` ...), sent by the
    affected user; ``time`` is the change's whole second. ``id`` names its chat message, made
    with the change inside the transaction (a retried transaction makes new ones)."""

    group_id: str
    user_id: str
    username: str
    code: int
    time: int
    id: str = field(default_factory=lambda: str(uuid.uuid4()), compare=False)


class MembershipListener(Protocol):
    async def record(self, tx: Queries, changes: Sequence[MembershipChange]) -> None:
        """Inside the membership transaction: write what must commit with it (await only ``tx``)."""

    def committed(self, changes: Sequence[MembershipChange]) -> None:
        """After the commit, on the loop: e.g. broadcast the messages on the group stream."""


@dataclass(slots=True)
class _Move:
    user_id: str
    username: str
    old: int | None
    change: rules.Change


@dataclass(slots=True)
class _Done:
    """What a committed membership transaction did, for the work after the commit."""

    group: Group | None = None
    moves: list[_Move] = field(default_factory=list)
    changes: list[MembershipChange] = field(default_factory=list)
    notify: list[Draft] = field(default_factory=list)
    disbanded: bool = False


Decide = Callable[[Queries, "Group | None"], Awaitable[list[_Move]]]


class GroupsCore:
    __slots__ = ("db", "streams", "users", "notifications", "listeners", "_last_position")

    def __init__(self, db: Database, streams: StreamManager, users: Any, notifications: Any) -> None:
        self.db = db
        self.streams = streams
        self.users = users  # host.features.users.UsersCore (for ``online``)
        self.notifications = notifications  # host.features.notifications.NotificationsCore
        self.listeners: list[MembershipListener] = []
        self._last_position = 0

    def _position(self) -> int:
        self._last_position = max(time.time_ns(), self._last_position + 1)
        return self._last_position

    # Groups ------------------------------------------------------------------------------

    async def create(
        self, user_id: str, name: str, *, creator_id: str = "", lang_tag: str = "", description: str = "",
        avatar_url: str = "", metadata: str = "", open: bool = False, max_count: int = 100,
    ) -> Group:
        """A group with ``user_id`` as its superadmin (``creator_id`` defaults to that user)."""
        if not valid_ids([user_id]) or uuid.UUID(user_id).int == 0:
            raise GroupError(CREATOR_INVALID)
        _check_sizes(name=name, description=description, avatar_url=avatar_url, lang_tag=lang_tag)
        now = int(time.time())
        group = Group(
            str(uuid.uuid4()), creator_id or user_id, name, description, avatar_url, lang_tag or "en",
            metadata or "{}", open, 1, max_count, now, now,
        )

        async def body(tx: Queries) -> None:
            if not await store.usernames(tx, [user_id]):
                raise GroupError(USER_NOT_FOUND)
            await store.insert_group(tx, group, user_id, self._position())

        try:
            await self.db.transact(body)
        except UniqueViolation:
            raise GroupError(NAME_IN_USE) from None
        return group

    async def update(
        self, group_id: str, caller: str | None, *, name: str | None = None, creator_id: str | None = None,
        lang_tag: str | None = None, description: str | None = None, avatar_url: str | None = None,
        open: bool | None = None, metadata: str | None = None, max_count: int = 0,
    ) -> None:
        """Change the given fields (None: unchanged; "" clears description and avatar). A
        caller must be an admin; None is the server. Raises GroupError NO_UPDATES, NOT_UPDATED
        (no such group), NAME_IN_USE, PERMISSION."""
        _check_sizes(name=name, description=description, avatar_url=avatar_url, lang_tag=lang_tag)
        sets: list[str] = []
        args: list[Any] = []
        for column, value in (("name", name), ("lang_tag", lang_tag), ("creator_id", creator_id), ("metadata", metadata)):
            if value is not None:
                sets.append(f"{column} = ?")
                args.append(value)
        for column, value in (("description", description), ("avatar_url", avatar_url)):
            if value is not None:
                sets.append(f"{column} = ?")
                args.append(value or None)
        if open is not None:
            sets.append("state = ?")
            args.append(0 if open else 1)
        if max_count > 0:
            sets.append("max_count = ?")
            args.append(max_count)
        dialect = self.db.dialect

        async def body(tx: Queries) -> None:
            group = await store.lock_group(tx, dialect, group_id)
            if caller is not None:
                state = await store.state_of(tx, group_id, caller) if group is not None else None
                if state is None or state > rules.ADMIN:
                    raise GroupError(PERMISSION)
            if not sets:
                raise GroupError(NO_UPDATES)
            if group is None:
                raise GroupError(NOT_UPDATED)
            await tx.execute(f"UPDATE groups SET update_time = ?, {', '.join(sets)} WHERE id = ?", int(time.time()), *args, group_id)

        try:
            await self.db.transact(body)
        except UniqueViolation:
            raise GroupError(NAME_IN_USE) from None

    async def delete(self, group_id: str, caller: str | None) -> None:
        """Delete the group and every membership (a caller must be a superadmin); its stream
        closes without presence events. Deleting a group that is gone is a no-op for the server."""
        dialect = self.db.dialect

        async def body(tx: Queries) -> bool:
            group = await store.lock_group(tx, dialect, group_id)
            if caller is not None and (group is None or await store.state_of(tx, group_id, caller) != rules.SUPERADMIN):
                raise GroupError(PERMISSION)
            if group is None:
                return False
            await tx.execute("DELETE FROM groups WHERE id = ?", group_id)
            return True

        if await self.db.transact(body):
            self.streams.close(group_stream(group_id))

    # Memberships -------------------------------------------------------------------------

    async def join(self, group_id: str, user_id: str, username: str) -> None:
        """Join an open group, or ask to join a closed one (its admins are notified). Already
        related (a member, a request, banned): nothing happens. Raises GroupError NOT_FOUND,
        FULL (checked first, so a full group takes no join requests either)."""

        async def decide(tx: Queries, group: Group | None) -> list[_Move]:
            if group is None:
                raise GroupError(NOT_FOUND)
            if group.edge_count >= group.max_count:
                raise GroupError(FULL)
            change = rules.join(group.open, await store.state_of(tx, group.id, user_id))
            return [_Move(user_id, username, None, change)] if change else []

        done = await self._membership(group_id, decide)
        if done.moves and done.moves[0].change.state == rules.JOIN_REQUEST:
            content = orjson.dumps({"group_id": group_id, "username": username}).decode()
            admins = await store.admins(self.db, group_id)
            await self._send([
                Draft(admin, f"User {username} wants to join your group", content, -5, user_id, persistent=True) for admin in admins
            ])

    async def leave(self, group_id: str, user_id: str, username: str) -> None:
        """Leave (or withdraw a join request). Not related or banned: nothing happens. The last
        superadmin cannot leave while others are members (GroupError LAST_SUPERADMIN); alone,
        leaving deletes the group."""

        async def decide(tx: Queries, group: Group | None) -> list[_Move]:
            if group is None:
                return []
            state = await store.state_of(tx, group.id, user_id)
            others = await store.superadmins_besides(tx, group.id, user_id) if state == rules.SUPERADMIN else 0
            try:
                change = rules.leave(state, others, group.edge_count)
            except rules.LastSuperadmin:
                raise GroupError(LAST_SUPERADMIN) from None
            if change is rules.DISBAND:
                await tx.execute("DELETE FROM groups WHERE id = ?", group.id)
                raise _Disbanded()
            return [_Move(user_id, username, state, change)] if change else []

        await self._membership(group_id, decide)

    async def add(self, group_id: str, caller: str | None, user_ids: Sequence[str]) -> None:
        """Add users (accepting their join requests). Raises GroupError PERMISSION (the caller
        is not an admin), NOT_FOUND (no such group, server caller), USER_NOT_FOUND, FULL."""
        done = await self._members(group_id, caller, user_ids, "add")
        added = [m.user_id for m in done.moves if m.change.message == rules.ADDED]
        if added and done.group is not None:
            name = done.group.name
            content = orjson.dumps({"group_id": group_id, "name": name}).decode()
            await self._send([Draft(uid, f"You've been added to group {name}", content, -4, caller or "", persistent=True) for uid in added])

    async def kick(self, group_id: str, caller: str | None, user_ids: Sequence[str]) -> None:
        """Remove users (a join request is refused, a ban lifted); not the last superadmin."""
        await self._members(group_id, caller, user_ids, "kick")

    async def ban(self, group_id: str, caller: str | None, user_ids: Sequence[str]) -> None:
        await self._members(group_id, caller, user_ids, "ban")

    async def promote(self, group_id: str, caller: str | None, user_ids: Sequence[str]) -> None:
        await self._members(group_id, caller, user_ids, "promote")

    async def demote(self, group_id: str, caller: str | None, user_ids: Sequence[str]) -> None:
        await self._members(group_id, caller, user_ids, "demote")

    async def _members(self, group_id: str, caller: str | None, user_ids: Sequence[str], op: str) -> _Done:
        """An admin's operation on users (caller None: the server, acting as a superadmin)."""
        targets = [u for u in valid_ids(user_ids) if u != caller]

        async def decide(tx: Queries, group: Group | None) -> list[_Move]:
            if group is None:
                raise GroupError(PERMISSION if caller is not None else NOT_FOUND)
            actor = rules.SUPERADMIN if caller is None else await store.state_of(tx, group.id, caller)
            if actor is None or actor > rules.ADMIN:
                raise GroupError(PERMISSION)
            names = await store.usernames(tx, targets)
            if op == "add" and len(names) < len(targets):
                raise GroupError(USER_NOT_FOUND)
            states = await store.states_of(tx, group.id, list(names))
            moves = []
            for uid in targets:
                if uid not in names:
                    continue
                state = states.get(uid)
                change = await _decide(tx, group.id, op, actor, uid, state)
                if change is not None:
                    moves.append(_Move(uid, names[uid], state, change))
            return moves

        return await self._membership(group_id, decide)

    async def _membership(self, group_id: str, decide: Decide) -> _Done:
        """Lock the group, ``decide`` the moves, write them and the count in one transaction;
        then the work after the commit (listeners, presences)."""
        dialect = self.db.dialect
        listeners = list(self.listeners)

        async def body(tx: Queries) -> _Done:
            group = await store.lock_group(tx, dialect, group_id)
            try:
                moves = await decide(tx, group)
            except _Disbanded:
                return _Done(group, disbanded=True)
            if group is None or not moves:
                return _Done(group)
            delta = sum(rules.counted(m.change.state) - rules.counted(m.old) for m in moves)
            if delta > 0 and group.edge_count + delta > group.max_count:
                raise GroupError(FULL)
            now = int(time.time())
            for m in moves:
                await store.set_state(tx, group.id, m.user_id, m.old, m.change.state, now, self._position())
            if delta:
                await tx.execute("UPDATE groups SET edge_count = edge_count + ?, update_time = ? WHERE id = ?", delta, now, group.id)
                group.edge_count += delta
            changes = [MembershipChange(group.id, m.user_id, m.username, m.change.message, now) for m in moves if m.change.message]
            if changes:
                for listener in listeners:
                    await listener.record(tx, changes)
            return _Done(group, moves, changes)

        done = await self.db.transact(body)
        stream = group_stream(group_id)
        if done.disbanded:
            self.streams.close(stream)
            return done
        for listener in listeners:
            try:
                listener.committed(done.changes)
            except Exception:
                log.exception("a group membership listener failed after the commit")
        gone = {m.user_id for m in done.moves if rules.counted(m.old) and not rules.counted(m.change.state)}
        if gone:
            for presence in self.streams.list(stream):
                if presence.user_id in gone:
                    self.streams.user_leave(stream, presence.user_id, presence.session_id)
        return done

    async def _send(self, drafts: list[Draft]) -> None:
        if not drafts:
            return
        try:
            await self.notifications.send(drafts)
        except Exception:
            log.exception("group notifications were not sent")

    # Reads -------------------------------------------------------------------------------

    async def state(self, group_id: str, user_id: str) -> int | None:
        """The user's membership state (None: unrelated); group chat lets 0-2 in."""
        return await store.state_of(self.db, group_id, user_id)

    async def get(self, ids: Sequence[str]) -> list[Group]:
        return await store.groups_by_ids(self.db, valid_ids(ids))

    async def group_users(self, group_id: str, limit: int, state: int | None, cursor: str) -> tuple[list[GroupUser], str]:
        """A page of the group's users ordered by state then age (without ``state``, banned
        users are left out), and the next page's cursor ("" after the last)."""
        rows, next_cursor = await self.group_users_page(group_id, limit, state, cursor)
        self.users.mark_online(rows)
        return rows, next_cursor

    async def group_users_page(self, group_id: str, limit: int, state: int | None, cursor: str) -> tuple[list[GroupUser], str]:
        """``group_users`` without ``online`` (database work only: it may run off the loop)."""
        after = _edge_cursor(cursor, state, USERS_CURSOR)
        rows = await store.users_page(self.db, group_id, limit + 1, state, after)
        next_cursor = encode_edge_cursor(EdgeCursor(rows[limit].state, rows[limit].position, rows[limit].user.id)) if len(rows) > limit else ""
        return rows[:limit], next_cursor

    async def user_groups(self, user_id: str, limit: int, state: int | None, cursor: str) -> tuple[list[UserGroup], str]:
        after = _edge_cursor(cursor, state, GROUPS_CURSOR)
        rows = await store.groups_page(self.db, user_id, limit + 1, state, after)
        next_cursor = encode_edge_cursor(EdgeCursor(rows[limit].state, rows[limit].position, rows[limit].group.id)) if len(rows) > limit else ""
        return rows[:limit], next_cursor

    async def search(self, query: Search, limit: int, cursor: str) -> tuple[list[Group], str]:
        """ListGroups: by name pattern (alone), or by open / lang tag / at most N members."""
        if query.name and (query.lang_tag or query.open is not None or query.members is not None):
            raise GroupError(NAME_FILTER)
        if query.name:
            query = Search(name=query.name.lstrip("% "))
        after = _search_cursor(cursor, query.order) if cursor else None
        rows = await store.search(self.db, self.db.dialect, query, limit + 1, after)
        next_cursor = _encode_search_cursor(query.order, rows[limit - 1]) if len(rows) > limit else ""
        return rows[:limit], next_cursor


class _Disbanded(Exception):
    """Raised inside ``leave``'s decision once the last member's group is deleted."""


async def _decide(tx: Queries, group_id: str, op: str, actor: int, user_id: str, state: int | None) -> rules.Change | None:
    if op == "add":
        return rules.add(state)
    if op == "promote":
        return rules.promote(actor, state)
    others = await store.superadmins_besides(tx, group_id, user_id) if state is not None and state <= rules.ADMIN else 1
    if op == "kick":
        return rules.kick(actor, state, others)
    if op == "ban":
        return rules.ban(actor, state, others)
    return rules.demote(actor, state, others)


def _check_sizes(**fields: str | None) -> None:
    for name, value in fields.items():
        if value is not None and len(value) > _SIZES[name]:
            raise GroupError(f"Group {name} must be at most {_SIZES[name]} characters.")


def _edge_cursor(text: str, state: int | None, invalid: str) -> EdgeCursor | None:
    if not text:
        return None
    cursor = decode_edge_cursor(text, rules.BANNED)
    if cursor is None or (state is not None and cursor.state != state):
        raise GroupError(invalid)
    return cursor


def _encode_search_cursor(order: str, last: Group) -> str:
    key: list[Any] = {"name": [last.name], "members": [last.edge_count, last.id], "id": [last.id]}[order]
    return base64.urlsafe_b64encode(orjson.dumps([order, *key])).decode().rstrip("=")


def _search_cursor(text: str, order: str) -> tuple[Any, ...]:
    try:
        value = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        value = None
    shapes = {"name": (str,), "members": (int, str), "id": (str,)}
    if (
        not isinstance(value, list) or not value or value[0] != order or len(value) != len(shapes[order]) + 1
        or not all(type(v) is t for v, t in zip(value[1:], shapes[order]))
    ):
        raise GroupError(LIST_CURSOR)
    if order != "name" and not valid_ids([value[-1]]):
        raise GroupError(LIST_CURSOR)
    return tuple(value[1:])
