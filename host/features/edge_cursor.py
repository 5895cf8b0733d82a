"""What the edge listings (friends, a group's users, a user's groups) share: cursors and the join.

Those listings are ordered by ``(state, position, other id)``; a cursor names the first row of
the next page. It is base64url of ``"<state>:<position>:<id>"``: stable across restarts and the
same on both database engines. Nakama's are gob blobs; clients treat both as opaque.

A page is cut from one range of the edge table's listing index first, then each row is joined
to the other side (a user, a group) by primary key with ``join_by_id``. SQLite joins by nested
loops only, so a plain JOIN probes the key's index once per row. PostgreSQL would rather
hash-join a 1,000-row page against a whole users table (read in full) while that table is a few
times the page; a LATERAL subquery with a LIMIT, which it does not flatten into a plain join,
makes it probe the index per row as well: a page then costs the same however large the tables.
"""

from __future__ import annotations

import base64
import uuid
from typing import NamedTuple

from ..storage import Dialect

__all__ = ["EdgeCursor", "encode_edge_cursor", "decode_edge_cursor", "join_by_id"]


class EdgeCursor(NamedTuple):
    state: int
    position: int
    id: str


def encode_edge_cursor(cursor: EdgeCursor) -> str:
    raw = f"{cursor.state}:{cursor.position}:{cursor.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_edge_cursor(text: str, max_state: int) -> EdgeCursor | None:
    """The cursor ``encode_edge_cursor`` made, or None for anything else."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        state, position, other = raw.split(":")
        cursor = EdgeCursor(int(state), int(position), str(uuid.UUID(other)))
    except (ValueError, UnicodeDecodeError):
        return None
    if not 0 <= cursor.state <= max_state or encode_edge_cursor(cursor) != text.rstrip("="):
        return None
    return cursor



def join_by_id(dialect: Dialect, table: str, alias: str, columns: str, key: str) -> str:
    """``JOIN <table> <alias>`` on ``<alias>.id = <key>``, probing the primary key once per row
    on both engines; ``columns`` (``alias.column, ...``) are those the query reads."""
    if dialect.name == "postgres":
        return f"CROSS JOIN LATERAL (SELECT {columns} FROM {table} {alias} WHERE {alias}.id = {key} LIMIT 1) {alias}"
    return f"JOIN {table} {alias} ON {alias}.id = {key}"
