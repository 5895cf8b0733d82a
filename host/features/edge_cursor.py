"""Opaque cursors for the edge listings (friends, a group's users, a user's groups).

Those listings are ordered by ``(state, position, other id)``; a cursor names the first row of
the next page. It is base64url of ``"<state>:<position>:<id>"``: stable across restarts and the
same on both database engines. Nakama's are gob blobs; clients treat both as opaque.
"""

from __future__ import annotations

import base64
import uuid
from typing import NamedTuple

__all__ = ["EdgeCursor", "encode_edge_cursor", "decode_edge_cursor"]


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

