"""A world for the social cores: a real, migrated database of each engine, the stream engine with
recording sinks, and the real status, notifications, users, friends and groups cores on them."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import pytest

from host.accounts.store import AccountStore
from host.features.friends.core import FriendsCore
from host.features.groups.core import GroupsCore
from host.features.notifications.core import NotificationsCore, notification_stream
from host.features.notifications.rows import SqlNotificationRows
from host.features.status.core import StatusCore, status_stream
from host.features.status.registry import StatusRegistry
from host.features.users.core import UsersCore
from host.storage import Database
from host.streams import MemorySink
from tests.streams.helpers import Engine, make_engine


@dataclass
class World:
    db: Database
    engine: Engine
    accounts: AccountStore
    notifications: NotificationsCore
    users: UsersCore
    friends: FriendsCore
    groups: GroupsCore

    async def user(self, name: str) -> str:
        return (await self.accounts.create_account(name)).id

    async def stored(self, user_id: str) -> list[tuple[int, str, str, dict]]:
        """The user's stored notifications: (code, subject, sender, content), oldest first."""
        items = await self.notifications.page(user_id, 100, None)
        return [(n.code, n.subject, n.sender_id, orjson.loads(n.content)) for n in items]

    def online(self, user_id: str) -> MemorySink:
        """A session of the user with a status presence (what ``online`` means)."""
        sink = self.engine.connect(user_id)
        self.engine.manager.user_join(status_stream(user_id), user_id, sink.session_id, False, False, "")
        self.engine.manager.user_join(notification_stream(user_id), user_id, sink.session_id, True, False, "")
        return sink


@pytest.fixture
async def world(engine: str, new_database) -> World:
    db = await new_database(engine)
    streams = make_engine()
    accounts = AccountStore(db)
    status = StatusCore(streams.manager, StatusRegistry(), accounts)
    notifications = NotificationsCore(streams.manager, SqlNotificationRows(db))
    users = UsersCore(db, status)
    return World(
        db, streams, accounts, notifications, users,
        FriendsCore(db, streams.manager, users, notifications), GroupsCore(db, streams.manager, users, notifications),
    )
