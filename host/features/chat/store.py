"""The ``message`` table (channel history) on either database engine.

Nakama's columns, with two differences: times are unix microseconds (BIGINT), and
``content`` is TEXT, so history gives back a message's content exactly as it was sent, on
both engines (⚠ Nakama's JSONB hands back PostgreSQL's normalised text, keys re-ordered,
while the live push carried the original). Content is checked to be a JSON object before it
is stored. The primary key (stream, create_time, id) is the history index; ``id`` is unique.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...storage import Database, Queries, Schema
from ...streams import StreamId
from .channel import NIL, Channel
from .message import Message

__all__ = ["SCHEMA", "Stored", "insert", "update", "remove", "page"]

SCHEMA = Schema(
    "chat",
    [
        # 1: channel history; a sender-less (runtime) message has the nil UUID as sender.
        """
        CREATE TABLE message (
            id                {uuid} NOT NULL CONSTRAINT message_id_key UNIQUE,
            code              SMALLINT NOT NULL,
            sender_id         {uuid} NOT NULL,
            username          VARCHAR(128) NOT NULL,
            stream_mode       SMALLINT NOT NULL,
            stream_subject    {uuid} NOT NULL,
            stream_descriptor {uuid} NOT NULL,
            stream_label      VARCHAR(128) NOT NULL,
            content           TEXT NOT NULL,
            create_time       BIGINT NOT NULL,
            update_time       BIGINT NOT NULL,
            PRIMARY KEY (stream_mode, stream_subject, stream_descriptor, stream_label, create_time, id)
        )
        """,
    ],
)

_STREAM = "stream_mode = ? AND stream_subject = ? AND stream_descriptor = ? AND stream_label = ?"
_COLUMNS = "id, code, sender_id, username, content, create_time, update_time"


def _stream_args(stream: StreamId) -> tuple[int, str, str, str]:
    return stream.mode, stream.subject or NIL, stream.subcontext or NIL, stream.label


def _row(m: Message) -> tuple[Any, ...]:
    return (m.id, m.code, m.sender_id or NIL, m.username, *_stream_args(m.channel.stream), m.content, m.create_time, m.update_time)


async def insert(db: Queries, messages: Sequence[Message]) -> None:
    """Every one of them in one statement, or none (raises)."""
    await db.executemany(
        "INSERT INTO message (id, code, sender_id, username, stream_mode, stream_subject, stream_descriptor, stream_label,"
        " content, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [_row(m) for m in messages],
    )


@dataclass(slots=True)
class Stored:
    """The times of a stored message an update or removal found."""

    create_time: int
    update_time: int


async def update(db: Database, channel: Channel, message_id: str, sender_id: str, username: str, content: str, now: int) -> Stored | None:
    """Edit the sender's message in this channel; None when there is none."""
    row = await _returning(
        db,
        f"UPDATE message SET content = ?, username = ?, update_time = ? WHERE id = ? AND sender_id = ? AND {_STREAM}"
        " RETURNING create_time",
        content, username, now, message_id, sender_id or NIL, *_stream_args(channel.stream),
    )
    return None if row is None else Stored(row[0], now)


async def remove(db: Database, channel: Channel, message_id: str, sender_id: str) -> Stored | None:
    """Delete the sender's message in this channel; its times, None when there is none."""
    row = await _returning(
        db,
        f"DELETE FROM message WHERE id = ? AND sender_id = ? AND {_STREAM} RETURNING create_time, update_time",
        message_id, sender_id or NIL, *_stream_args(channel.stream),
    )
    return None if row is None else Stored(row[0], row[1])


async def _returning(db: Database, sql: str, *args: Any) -> Any:
    """The row a write's RETURNING gives (a transaction: SQLite serves reads on a read-only connection)."""

    async def body(tx: Queries) -> Any:
        return await tx.fetchone(sql, *args)

    return await db.transact(body)


async def page(db: Queries, channel: Channel, after: tuple[int, str] | None, ascending: bool, limit: int) -> list[Message]:
    """Up to ``limit`` messages of the channel beyond the position ``after`` (create time, id)
    in the listing's direction, oldest first when ``ascending``."""
    order = "ASC" if ascending else "DESC"
    args: list[Any] = list(_stream_args(channel.stream))
    where = _STREAM
    if after is not None:
        where += f" AND (create_time, id) {'>' if ascending else '<'} (?, ?)"
        args += after
    rows = await db.fetch(f"SELECT {_COLUMNS} FROM message WHERE {where} ORDER BY create_time {order}, id {order} LIMIT ?", *args, limit)
    return [
        Message(channel, str(mid), code, "" if str(sender) == NIL else str(sender), username, content, created, updated, True)
        for mid, code, sender, username, content, created, updated in rows
    ]

