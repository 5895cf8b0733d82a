"""Where stored notifications live: the ``NotificationRows`` interface and its SQL engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .core import Notification

__all__ = ["Change", "NotificationRows", "SqlNotificationRows", "MIGRATIONS"]


@dataclass(slots=True)
class Change:
    """An edit of a stored notification; None leaves a field as it is."""

    id: str
    content: str | None = None
    subject: str | None = None
    sender_id: str | None = None


class NotificationRows(Protocol):
    async def insert(self, notifications: list[Notification]) -> None:
        """All of them in one statement, or none (raises)."""

    async def page(self, user_id: str, limit: int, after: tuple[int, str] | None) -> list[Notification]:
        """The user's notifications after (create_time, id), oldest first, at most ``limit``."""

    async def get(self, ids: list[str], user_id: str | None) -> list[Notification]:
        """These notifications (of ``user_id`` only, unless None)."""

    async def delete(self, user_id: str | None, ids: list[str]) -> None:
        """Delete these (of ``user_id`` only, unless None); unknown ids are ignored."""

    async def update(self, changes: list[Change]) -> None:
        """Apply the changes in one transaction."""

    async def user_ids_after(self, after: str, limit: int) -> list[str]:
        """Account ids greater than ``after``, in order (a persistent send to everyone pages them)."""


# The SQL engine ---------------------------------------------------------------------------

MIGRATIONS = [
    # 1: Nakama's notification table; create_time in microseconds (the list order), code SMALLINT,
    # content TEXT (Nakama: JSONB, which PostgreSQL hands back reformatted).
    """
    CREATE TABLE notification (
        id          {uuid} NOT NULL UNIQUE,
        user_id     {uuid} NOT NULL,
        subject     VARCHAR(255) NOT NULL,
        content     TEXT NOT NULL,  -- the JSON text as sent: the same bytes live and when listed, on both engines
        code        SMALLINT NOT NULL,
        sender_id   {uuid} NOT NULL,
        create_time BIGINT NOT NULL,
        PRIMARY KEY (user_id, create_time, id)
    )
    """,
]

_COLUMNS = "id, user_id, subject, content, code, sender_id, create_time"
_NIL = "00000000-0000-0000-0000-000000000000"


def _notification(row: Any) -> Notification:
    from .core import Notification

    nid, user_id, subject, content, code, sender, created = row
    sender = str(sender)
    return Notification(str(nid), str(user_id), subject, content, code, "" if sender == _NIL else sender, created, True)


class SqlNotificationRows:
    """NotificationRows on the database layer (both engines)."""

    __slots__ = ("db",)

    def __init__(self, db: Any) -> None:
        self.db = db

    async def insert(self, notifications: list[Notification]) -> None:
        await self.db.executemany(
            f"INSERT INTO notification ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(n.id, n.user_id, n.subject, n.content, n.code, n.sender_id or _NIL, n.create_time) for n in notifications],
        )

    async def page(self, user_id: str, limit: int, after: tuple[int, str] | None) -> list[Notification]:
        if after is None:
            rows = await self.db.fetch(
                f"SELECT {_COLUMNS} FROM notification WHERE user_id = ? ORDER BY create_time, id LIMIT ?", user_id, limit
            )
        else:
            stamp, nid = after
            rows = await self.db.fetch(
                f"SELECT {_COLUMNS} FROM notification WHERE user_id = ? AND (create_time > ? OR (create_time = ? AND id > ?))"
                " ORDER BY create_time, id LIMIT ?",
                user_id, stamp, stamp, nid or _NIL, limit,
            )
        return [_notification(r) for r in rows]

    async def get(self, ids: list[str], user_id: str | None) -> list[Notification]:
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        if user_id is None:
            rows = await self.db.fetch(f"SELECT {_COLUMNS} FROM notification WHERE id IN ({marks})", *ids)
        else:
            rows = await self.db.fetch(f"SELECT {_COLUMNS} FROM notification WHERE user_id = ? AND id IN ({marks})", user_id, *ids)
        return [_notification(r) for r in rows]

    async def delete(self, user_id: str | None, ids: list[str]) -> None:
        if not ids:
            return
        marks = ", ".join("?" * len(ids))
        if user_id is None:
            await self.db.execute(f"DELETE FROM notification WHERE id IN ({marks})", *ids)
        else:
            await self.db.execute(f"DELETE FROM notification WHERE user_id = ? AND id IN ({marks})", user_id, *ids)

    async def update(self, changes: list[Change]) -> None:
        async def body(tx: Any) -> None:
            for change in changes:
                for column, value in (("content", change.content), ("subject", change.subject), ("sender_id", change.sender_id)):
                    if value is not None:
                        await tx.execute(f"UPDATE notification SET {column} = ? WHERE id = ?", value, change.id)

        await self.db.transact(body)

    async def user_ids_after(self, after: str, limit: int) -> list[str]:
        rows = await self.db.fetch("SELECT id FROM users WHERE id > ? ORDER BY id LIMIT ?", after or _NIL, limit)
        return [str(r[0]) for r in rows]
