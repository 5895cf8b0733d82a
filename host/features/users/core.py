"""Users: look profiles and accounts up by id or username, with ``online`` filled in.

``online`` is what Nakama means by it: the user has a status presence (``/ws?status=true``
or a status update), asked of the status core. Friends and groups list users through the
same profile shape (``host.accounts.users``), so every listing agrees.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ...accounts import users
from ...accounts.store import Account
from ...storage import Database

__all__ = ["NAME", "UsersCore", "Online", "Profile"]

NAME = "users"


class Online(Protocol):
    def online(self, user_ids: Iterable[str]) -> set[str]:
        """The users among ``user_ids`` who are online."""


@dataclass(slots=True)
class Profile:
    """A user as others see it: the public account fields and whether the user is online."""

    account: Account
    online: bool


class UsersCore:
    __slots__ = ("db", "status")

    def __init__(self, db: Database, status: Online) -> None:
        self.db = db
        self.status = status

    def mark_online(self, rows: Sequence[Any]) -> None:
        """Set ``online`` on listed rows (each has ``user``, an Account, and ``online``). On the
        loop: the stream engine lives there."""
        online = self.status.online([r.user.id for r in rows])
        for row in rows:
            row.online = row.user.id in online

    def profiles(self, accounts: Sequence[Account]) -> list[Profile]:
        online = self.status.online([a.id for a in accounts])
        return [Profile(a, a.id in online) for a in accounts]

    async def get(self, ids: Sequence[str], usernames: Sequence[str]) -> list[Profile]:
        """Users by id (valid UUIDs) or exact username, each once: ids first, then the
        usernames that named someone else (Nakama answers one row per user)."""
        found = await users.users_by_ids(self.db, users.valid_ids(ids))
        names = [n for n in dict.fromkeys(usernames) if n]
        seen = {a.id for a in found}
        found += [a for a in await users.users_by_usernames(self.db, names) if a.id not in seen]
        return self.profiles(found)

    async def accounts(self, ids: Sequence[str]) -> list[tuple[Account, bool]]:
        """Whole accounts (devices included) and whether each user is online."""
        found = await users.accounts_by_ids(self.db, users.valid_ids(ids))
        online = self.status.online([a.id for a in found])
        return [(a, a.id in online) for a in found]

    async def ids_for(self, usernames: Sequence[str]) -> list[str]:
        return await users.ids_for_usernames(self.db, usernames)


def build_core(services: Any) -> UsersCore:
    return UsersCore(services.database, services.features["status"])
