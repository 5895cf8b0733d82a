"""Session ids that say which node owns them (Nakama's node-hash trick).

A session id is a UUID v1 whose node field (bytes 10..15) is the first six
bytes of sha1(node name), so any node can tell a local session from a foreign one.
"""

from __future__ import annotations

import hashlib
import uuid

__all__ = ["node_hash", "new_session_id", "is_local_session"]


def node_hash(node: str) -> bytes:
    return hashlib.sha1(node.encode()).digest()[:6]


def new_session_id(node: str) -> str:
    return str(uuid.uuid1(node=int.from_bytes(node_hash(node), "big")))


def is_local_session(session_id: str, node_hash_bytes: bytes) -> bool:
    """True when the id parses as a UUID whose node field is this node's hash."""
    try:
        return uuid.UUID(session_id).bytes[10:16] == node_hash_bytes
    except (ValueError, TypeError, AttributeError):
        return False
