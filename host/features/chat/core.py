"""Chat: rooms (stream mode 2), group chat (3) and direct messages (4), with history.

A channel's members are its stream's presences, so a leave, a disconnect, a kick
(``nk.stream_user_kick``) or a group removal all stop delivery the same way. A message goes
to every member (hidden ones and the sender included) and is stored when its sender joined
with ``persistence`` (nakama-features.md §1). Persistent messages are written in batches and
pushed once durable; every channel's pushes keep the order the messages were accepted in
(``writer.py``). The sender's acknowledgement follows the push.

Where Nakama has a bug (⚠) this core does what the user meant:

* a message can be updated or removed only by its sender, through its own channel: a stored
  message by its row (id, sender and channel must match; Nakama ignores the channel), a
  non-persistent one through this node's record of recent ones (``recent.py``; Nakama lets
  any member "update" any id);
* a database failure on update or remove answers the error alone (Nakama also sends an
  empty ack and runs the after hook);
* the "wants to chat" notification goes to a DM's other user only when that user has no
  presence on the DM stream at all (Nakama also notifies a user who is there, hidden);
* group system messages (codes 3-9) are stored inside the membership transaction through the
  groups core's listener hook (``record``), pushed after its commit (``committed``), and timed
  like every other message (Nakama: whole seconds).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ...errors import ApiError, Code
from ...storage import Database, DatabaseError, Queries
from ...streams import StreamError, StreamManager, StreamMode
from ..notifications.core import Draft
from . import store
from .channel import Channel, InvalidChannel, direct, group, parse_channel_id, parse_uuid, room, room_name_problem
from .history import Cursor, Page, list_page
from .message import CHAT, REMOVE, UPDATE, Message
from .recent import MemoryRecentMessages, Recent, RecentMessages
from .writer import ChannelWriter

__all__ = ["NAME", "ChatCore", "Caller", "not_a_json_object", "bad_input", "BLOCKED", "READERS"]

log = logging.getLogger("nkhost.chat")

NAME = "chat"
BLOCKED = 3  # friends: the user_edge state of a block
RECORDED_LIMIT = 4096  # group system messages stored and not pushed yet: more means rolled-back transactions
READERS = 2  # groups: superadmin 0, admin 1 and member 2 may join and read the group's chat

TARGET = ": Invalid channel target"
CHANNEL_INVALID = "Invalid channel identifier"
CONTENT_INVALID = "Message content must be a valid JSON object"


@dataclass(frozen=True, slots=True)
class Caller:
    """A socket session acting: the user, the session, the session's username."""

    user_id: str
    session_id: str
    username: str


def bad_input(message: str) -> ApiError:
    return ApiError(Code.INVALID_ARGUMENT, message)


def not_a_json_object(content: str) -> bool:
    """True unless ``content`` is a JSON object (Nakama: valid JSON starting with ``{``)."""
    try:
        return type(orjson.loads(content)) is not dict
    except orjson.JSONDecodeError:
        return True


def _message_id(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except (ValueError, AttributeError, TypeError):
        raise bad_input("Invalid message identifier") from None


class ChatCore:
    __slots__ = ("db", "streams", "users", "friends", "groups", "notifications", "writer", "recent", "_last_time", "_lock", "_recorded")

    def __init__(
        self, db: Database, streams: StreamManager, users: Any, friends: Any, groups: Any, notifications: Any,
        recent: RecentMessages | None = None,
    ) -> None:
        self.db = db
        self.streams = streams
        self.users = users  # host.features.users.UsersCore: does a DM's target exist
        self.friends = friends  # host.features.friends.FriendsCore: has the target blocked the joiner
        self.groups = groups  # host.features.groups.GroupsCore: membership states
        self.notifications = notifications  # host.features.notifications.NotificationsCore
        self.writer = ChannelWriter(db, streams.router)
        self.recent: RecentMessages = recent or MemoryRecentMessages()
        self._last_time = 0
        self._lock = threading.Lock()  # the clock and _recorded: group transactions record on SQLite's writer thread
        self._recorded: dict[str, Message] = {}  # group system messages stored, not yet pushed

    def now(self) -> int:
        """Unix microseconds that never repeat in this process: history's order is send order."""
        with self._lock:
            now = max(time.time_ns() // 1000, self._last_time + 1)
            self._last_time = now
        return now

    async def close(self) -> None:
        await self.writer.close()

    # Channels ----------------------------------------------------------------------------

    def parse(self, channel_id: str) -> Channel:
        """The channel a socket request names (3 "Invalid channel identifier")."""
        try:
            return parse_channel_id(channel_id)
        except InvalidChannel:
            raise bad_input(CHANNEL_INVALID) from None

    async def channel_for(self, user_id: str | None, target: str, kind: int) -> Channel:
        """The channel ``user_id`` may join as ``target`` of type ``kind`` (0/1 room, 2 DM, 3
        group), with Nakama's checks and texts in its order. ``None`` is the server: nothing
        about users is checked (and it has no DM of its own)."""
        if not target:
            raise bad_input("Invalid channel target")
        if kind in (0, 1):
            problem = room_name_problem(target)
            if problem is not None:
                raise bad_input(problem + TARGET)
            return room(target)
        if kind == 2:
            other = parse_uuid(target)
            if other is None:
                raise bad_input("Invalid user ID in direct message join" + TARGET)
            if user_id is None:
                raise bad_input("A direct message needs a sender user ID" + TARGET)
            try:
                found = await self.users.get([other], [])
                blocked = bool(found) and await self.friends.state(other, user_id) == BLOCKED
            except DatabaseError:
                raise ApiError(Code.INTERNAL, "Failed to look up user ID") from None
            if not found or blocked:
                raise bad_input("User ID not found" + TARGET)
            return direct(user_id, other)
        if kind == 3:
            try:
                gid = uuid.UUID(target)
            except ValueError:
                raise bad_input("Invalid group ID in group channel join" + TARGET) from None
            if gid.int == 0 or (user_id is not None and not await self._reader(str(gid), user_id, "Failed to look up group membership")):
                raise bad_input("Group not found" + TARGET)
            return group(str(gid))
        raise bad_input("Invalid channel type")

    async def _reader(self, group_id: str, user_id: str, failure: str) -> bool:
        try:
            state = await self.groups.state(group_id, user_id)
        except DatabaseError:
            raise ApiError(Code.INTERNAL, failure) from None
        return state is not None and state <= READERS

    # Membership --------------------------------------------------------------------------

    async def join(self, caller: Caller, target: str, kind: int, persistence: bool, hidden: bool) -> dict[str, Any]:
        """Join the channel; the ``channel`` reply's body."""
        channel = await self.channel_for(caller.user_id, target, kind)
        stream = channel.stream
        try:
            is_new = self.streams.user_join(stream, caller.user_id, caller.session_id, hidden, persistence)
        except StreamError:
            raise ApiError(Code.INTERNAL, "Error joining channel") from None
        if is_new and stream.mode == StreamMode.DM:
            await self._invite(caller, channel)
        presences = [
            p.to_wire() for p in self.streams.list(stream, False, True)
            if not (is_new and p.session_id == caller.session_id and p.user_id == caller.user_id)
        ]
        me: dict[str, Any] = {"user_id": caller.user_id, "session_id": caller.session_id, "username": caller.username}
        if persistence:
            me["persistence"] = True
        body: dict[str, Any] = {"id": channel.id}
        if presences:
            body["presences"] = presences
        body["self"] = me
        body.update(channel.identifiers())
        return body

    async def _invite(self, caller: Caller, channel: Channel) -> None:
        """Tell the other user of a DM someone wants to chat, unless that user is there."""
        other = channel.other(caller.user_id)
        if other == caller.user_id or any(p.user_id == other for p in self.streams.list(channel.stream)):
            return
        content = orjson.dumps({"username": caller.username}).decode()
        draft = Draft(other, f"{caller.username} wants to chat", content, -1, caller.user_id, persistent=True)
        try:
            await self.notifications.send([draft])
        except Exception:
            log.exception("the direct message notification to %s was not sent", other)

    def leave(self, caller: Caller, channel_id: str) -> None:
        self.streams.user_leave(self.parse(channel_id).stream, caller.user_id, caller.session_id)

    # Messages from sockets ---------------------------------------------------------------

    def _joined(self, caller: Caller, channel: Channel, doing: str) -> bool:
        """The caller's persistence flag on the channel; 3 "Must join channel ..." when absent."""
        meta = self.streams.get(caller.session_id, channel.stream, caller.user_id)
        if meta is None:
            raise bad_input(f"Must join channel before {doing} messages")
        return meta.persistence

    async def send(self, caller: Caller, channel_id: str, content: str) -> Message:
        channel = self.parse(channel_id)
        if not_a_json_object(content):
            raise bad_input(CONTENT_INVALID)
        persistent = self._joined(caller, channel, "sending")
        try:
            return await self.post(channel, content, caller.user_id, caller.username, persistent)
        except DatabaseError:
            raise ApiError(Code.INTERNAL, "Could not persist message to channel history") from None

    async def update(self, caller: Caller, channel_id: str, message_id: str, content: str) -> Message:
        mid = _message_id(message_id)
        channel = self.parse(channel_id)
        if not_a_json_object(content):
            raise bad_input(CONTENT_INVALID)
        self._joined(caller, channel, "updating")
        now = self.now()
        try:
            stored = await store.update(self.db, channel, mid, caller.user_id, caller.username, content, now)
        except DatabaseError:
            raise ApiError(Code.INTERNAL, "Could not persist message update to channel history") from None
        if stored is not None:
            return self._announce(channel, mid, UPDATE, caller.user_id, caller.username, content, stored.create_time, now, True)
        recent = self.recent.find(mid, channel.stream, caller.user_id)
        if recent is None:
            raise bad_input("Could not find message to update in channel history")
        recent.update_time = now
        return self._announce(channel, mid, UPDATE, caller.user_id, caller.username, content, recent.create_time, now, False)

    async def remove(self, caller: Caller, channel_id: str, message_id: str) -> Message:
        mid = _message_id(message_id)
        channel = self.parse(channel_id)
        self._joined(caller, channel, "removing")
        try:
            stored = await store.remove(self.db, channel, mid, caller.user_id)
        except DatabaseError:
            raise ApiError(Code.INTERNAL, "Could not persist message remove to channel history") from None
        found: Recent | store.Stored | None = stored or self.recent.find(mid, channel.stream, caller.user_id)
        if found is None:
            raise bad_input("Could not find message to remove in channel history")
        self.recent.forget(mid)
        return self._announce(channel, mid, REMOVE, caller.user_id, caller.username, "{}", found.create_time, found.update_time, stored is not None)

    # Messages from anyone (sockets after their checks, the runtime) ----------------------

    async def post(self, channel: Channel, content: str, sender_id: str, username: str, persist: bool) -> Message:
        """A new message (code 0): stored first when ``persist`` (raises DatabaseError, and
        nothing was sent, when it could not be), pushed to every member; returns after the push."""
        now = self.now()
        message = Message(channel, str(uuid.uuid4()), CHAT, sender_id, username, content, now, now, persist)
        if persist:
            await self.writer.store(message)
        else:
            self.recent.add(message.id, Recent(channel.stream, sender_id, now, now))
            self.writer.push(channel.stream, message.push())
        return message

    async def revise(
        self, channel: Channel, message_id: str, sender_id: str, username: str, content: str | None, persist: bool
    ) -> Message | None:
        """The runtime's update (``content``) or removal (None) of a message: with ``persist``
        the sender's stored message in this channel changes (None when there is none, raises
        DatabaseError); without, nothing is checked and the change is only broadcast."""
        now = self.now()
        created, updated = now, now
        if persist:
            if content is None:
                stored = await store.remove(self.db, channel, message_id, sender_id)
            else:
                stored = await store.update(self.db, channel, message_id, sender_id, username, content, now)
            if stored is None:
                return None
            created, updated = stored.create_time, stored.update_time
        if content is None:
            return self._announce(channel, message_id, REMOVE, sender_id, username, "{}", created, updated, persist)
        return self._announce(channel, message_id, UPDATE, sender_id, username, content, created, updated, persist)

    def _announce(
        self, channel: Channel, message_id: str, code: int, sender_id: str, username: str, content: str,
        created: int, updated: int, persistent: bool,
    ) -> Message:
        message = Message(channel, message_id, code, sender_id, username, content, created, updated, persistent)
        self.writer.push(channel.stream, message.push())
        return message

    # History -----------------------------------------------------------------------------

    async def check_reader(self, user_id: str, channel: Channel) -> None:
        """May the user read the channel's history (REST texts)? Rooms: anyone."""
        mode = channel.stream.mode
        if mode == StreamMode.GROUP:
            if not await self._reader(channel.stream.subject, user_id, "Error listing messages from channel."):  # type: ignore[arg-type]
                raise bad_input("Group not found.")
        elif mode == StreamMode.DM and not channel.has_member(user_id):
            raise bad_input("Channel not found.")

    async def history(self, channel: Channel, limit: int, forward: bool, cursor: Cursor | None) -> Page:
        """A page of the channel's stored messages (no permission check: see check_reader)."""
        return await list_page(self.db, channel, limit, forward, cursor)

    # Group chat system messages (the groups core's MembershipListener) -------------------

    async def record(self, tx: Queries, changes: Sequence[Any]) -> None:
        """Inside the membership transaction (on SQLite's writer thread): store one message
        per change, timed by this core's clock so history keeps the order things happened in
        (Nakama truncates them to whole seconds, which sorts a second's system messages
        before its chat and among themselves by id)."""
        if not changes:
            return
        messages = [_system(c, self.now()) for c in changes]
        await store.insert(tx, messages)
        with self._lock:
            for message in messages:
                self._recorded[message.id] = message
            while len(self._recorded) > RECORDED_LIMIT:  # rows of transactions that rolled back
                del self._recorded[next(iter(self._recorded))]

    def committed(self, changes: Sequence[Any]) -> None:
        """After the commit, on the loop: push the recorded messages to the group's members."""
        for change in changes:
            with self._lock:
                message = self._recorded.pop(change.id, None)
            if message is not None:
                self.writer.push(message.channel.stream, message.push())


def _system(change: Any, at: int) -> Message:
    """The group chat message of a membership change (host.features.groups.MembershipChange):
    sent by the affected user, content ``{}``."""
    return Message(group(change.group_id), change.id, change.code, change.user_id, change.username, "{}", at, at, True)

