"""Reading credentials from an Authorization header (Basic and Bearer).

Nakama's ``parseBasicAuth`` / ``parseBearerAuth`` semantics: the prefixes
``Basic `` and ``Bearer `` are matched exactly, and a Basic value must be
standard base64 of ``user:password``.
"""

from __future__ import annotations

import base64
import binascii

__all__ = ["parse_basic", "bearer_token"]


def parse_basic(header: str) -> tuple[str, str] | None:
    """(username, password) of a Basic header, or None when it is not one."""
    if not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:], validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return user, password


def bearer_token(header: str) -> str | None:
    """The token of a ``Bearer <token>`` header, or None."""
    if not header.startswith("Bearer "):
        return None
    return header[7:]
