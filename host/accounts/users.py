"""Public user profiles read in bulk: what friends, groups and ``GET /v2/user`` show of a user.

An ``Account`` is reused as the profile (only its public fields are filled), so one JSON shape
(``host.net.api_account.user_json``) and one Lua shape serve every listing. ``PUBLIC_COLUMNS``
lets other features join ``users`` into their own listings (``users u``) and read the profile
back with ``public_account``: one query per page, never one per user.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from host.accounts.store import _COLUMNS, Account, _account_from_row
from host.storage import Queries

__all__ = [
    "PUBLIC_COLUMNS", "PUBLIC_COUNT", "public_account", "valid_ids",
    "users_by_ids", "users_by_usernames", "ids_for_usernames", "accounts_by_ids",
]

PUBLIC_COLUMNS = (
    "u.id, u.username, u.display_name, u.avatar_url, u.lang_tag, u.location, u.timezone, u.metadata, "
    "u.edge_count, u.create_time, u.update_time"
)
PUBLIC_COUNT = 11  # how many columns PUBLIC_COLUMNS selects


def public_account(row: Sequence[Any], at: int = 0) -> Account:
    """The profile in ``row[at : at + PUBLIC_COUNT]`` (selected with PUBLIC_COLUMNS). Listings
    make hundreds per call, so the fields go positionally (in ``Account``'s order)."""
    uid, username, display_name, avatar_url, lang_tag, location, timezone, metadata, edges, created, updated = row[at : at + PUBLIC_COUNT]
    return Account(
        str(uid), username, display_name or "", avatar_url or "", lang_tag or "", location or "", timezone or "",
        metadata or "", "{}", "", b"", "", [], edges, created, updated,
    )


def valid_ids(ids: Iterable[str]) -> list[str]:
    """Canonical UUIDs among ``ids``, each once, in order (a text no row can have is dropped:
    PostgreSQL's uuid column would refuse it)."""
    out: dict[str, None] = {}
    for text in ids:
        try:
            out[str(uuid.UUID(text))] = None
        except (ValueError, AttributeError, TypeError):
            continue
    return list(out)


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


async def users_by_ids(db: Queries, ids: Sequence[str]) -> list[Account]:
    """Profiles of the existing users among ``ids`` (canonical UUIDs), in no set order."""
    if not ids:
        return []
    rows = await db.fetch(f"SELECT {PUBLIC_COLUMNS} FROM users u WHERE u.id IN ({_marks(ids)})", *ids)
    return [public_account(r) for r in rows]


async def users_by_usernames(db: Queries, usernames: Sequence[str]) -> list[Account]:
    """Profiles of the users with exactly these usernames (case-sensitive, as Nakama's)."""
    if not usernames:
        return []
    rows = await db.fetch(f"SELECT {PUBLIC_COLUMNS} FROM users u WHERE u.username IN ({_marks(usernames)})", *usernames)
    return [public_account(r) for r in rows]


async def ids_for_usernames(db: Queries, usernames: Sequence[str]) -> list[str]:
    """Ids of the users with these usernames; unknown names are dropped, as Nakama does."""
    names = list(dict.fromkeys(usernames))
    if not names:
        return []
    rows = await db.fetch(f"SELECT id FROM users WHERE username IN ({_marks(names)})", *names)
    return [str(uid) for (uid,) in rows]


async def accounts_by_ids(db: Queries, ids: Sequence[str]) -> list[Account]:
    """Whole accounts (devices included) of the existing users among ``ids``: two queries."""
    if not ids:
        return []
    marks = _marks(ids)
    rows = await db.fetch(f"SELECT {_COLUMNS} FROM users WHERE id IN ({marks})", *ids)
    devices: dict[str, list[str]] = {}
    for device, owner in await db.fetch(f"SELECT id, user_id FROM user_device WHERE user_id IN ({marks}) ORDER BY id", *ids):
        devices.setdefault(str(owner), []).append(device)
    return [_account_from_row(r, devices.get(str(r[0]), [])) for r in rows]
