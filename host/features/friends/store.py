"""The ``user_edge`` table: one row per direction of a user pair, on either database engine.

``apply`` writes what a state-machine step changed inside the caller's transaction: the rows
of both directions and both users' ``edge_count``. ``page`` lists a user's edges with the
other user's profile in one index-driven query (``user_edge_list_idx``: source, state,
position, destination), however many edges the user has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import orjson

from ...accounts.store import Account
from ...accounts.users import PUBLIC_COLUMNS, PUBLIC_COUNT, public_account
from ...storage import Database, Dialect, Queries, Schema
from ..edge_cursor import EdgeCursor, join_by_id

__all__ = ["SCHEMA", "Friend", "Pair", "lock_users", "read_pair", "apply", "merged", "page", "edge_key", "set_metadata", "state_of"]

SCHEMA = Schema(
    "friends",
    [
        # 1: Nakama's user_edge, ordered for listing by (state, position) with the other user's
        # id as a tie-break, so a cursor is exact even when two edges share a position.
        """
        CREATE TABLE user_edge (
            source_id       {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            destination_id  {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            state           SMALLINT NOT NULL,
            position        BIGINT NOT NULL,
            update_time     BIGINT NOT NULL,
            metadata        {json} NOT NULL DEFAULT '{}',
            PRIMARY KEY (source_id, destination_id)
        );
        CREATE INDEX user_edge_list_idx ON user_edge (source_id, state, position, destination_id)
        """,
    ],
)


@dataclass(slots=True)
class Friend:
    """One listed edge: the other user's profile, the state, when it last changed, its
    metadata, and whether that user is online (filled by the core)."""

    user: Account
    state: int
    position: int
    update_time: int
    metadata: str
    online: bool = False


@dataclass(slots=True)
class Pair:
    """Both directions between the caller and a target, as read in the transaction."""

    mine: int | None = None
    theirs: int | None = None
    my_metadata: str = "{}"


async def lock_users(tx: Queries, dialect: Dialect, ids: Sequence[str]) -> set[str]:
    """The existing users among ``ids``, their rows locked (in id order: no deadlocks) until the
    transaction ends, so two requests about one pair take turns."""
    marks = ", ".join("?" * len(ids))
    rows = await tx.fetch(f"SELECT id FROM users WHERE id IN ({marks}) ORDER BY id{dialect.for_update}", *ids)
    return {str(uid) for (uid,) in rows}


async def read_pair(tx: Queries, user_id: str, target: str) -> Pair:
    pair = Pair()
    rows = await tx.fetch(
        "SELECT source_id, state, metadata FROM user_edge "
        "WHERE (source_id = ? AND destination_id = ?) OR (source_id = ? AND destination_id = ?)",
        user_id, target, target, user_id,
    )
    for source, state, metadata in rows:
        if str(source) == user_id:
            pair.mine, pair.my_metadata = state, metadata
        else:
            pair.theirs = state
    return pair


async def _write(tx: Queries, source: str, destination: str, old: int | None, new: int | None, metadata: str | None, now: int, position: int) -> int:
    """One direction; returns the change of ``source``'s edge count."""
    if old == new and metadata is None:
        return 0
    if new is None:
        await tx.execute("DELETE FROM user_edge WHERE source_id = ? AND destination_id = ?", source, destination)
        return -1
    if old is None:
        await tx.execute(
            "INSERT INTO user_edge (source_id, destination_id, state, position, update_time, metadata) VALUES (?, ?, ?, ?, ?, ?)",
            source, destination, new, position, now, metadata or "{}",
        )
        return 1
    if metadata is None:
        await tx.execute(
            "UPDATE user_edge SET state = ?, update_time = ? WHERE source_id = ? AND destination_id = ?", new, now, source, destination
        )
    else:
        await tx.execute(
            "UPDATE user_edge SET state = ?, update_time = ?, metadata = ? WHERE source_id = ? AND destination_id = ?",
            new, now, metadata, source, destination,
        )
    return 0


async def apply(
    tx: Queries, user_id: str, target: str, before: Pair, mine: int | None, theirs: int | None,
    my_metadata: str | None, now: int, position: int,
) -> None:
    """Write the pair's new states (and the caller's edge metadata, when not None)."""
    deltas = (
        (user_id, await _write(tx, user_id, target, before.mine, mine, my_metadata, now, position)),
        (target, await _write(tx, target, user_id, before.theirs, theirs, None, now, position)),
    )
    for uid, delta in deltas:
        if delta:
            await tx.execute("UPDATE users SET edge_count = edge_count + ?, update_time = ? WHERE id = ?", delta, now, uid)


def merged(old: str, new: str) -> str:
    """PostgreSQL's ``jsonb || jsonb`` for two objects (Nakama merges accepted-invite metadata)."""
    out = orjson.loads(old) if old else {}
    out.update(orjson.loads(new))
    return orjson.dumps(out).decode()


_PAGE = (
    "SELECT destination_id, state, position, update_time, metadata FROM user_edge WHERE source_id = ?{where} "
    "ORDER BY state, position, destination_id LIMIT ?"
)


async def page(db: Database, user_id: str, limit: int, state: int | None, after: EdgeCursor | None) -> list[Friend]:
    """Up to ``limit`` edges of ``user_id`` from ``after`` on (inclusive), in listing order.

    One range of ``user_edge_list_idx``, joined to the users by primary key (``join_by_id``).
    """
    where, args = "", [user_id]
    if state is not None:
        where = " AND state = ?"
        args.append(state)
        if after is not None:
            where += " AND (position, destination_id) >= (?, ?)"
            args += [after.position, after.id]
    elif after is not None:
        where = " AND (state, position, destination_id) >= (?, ?, ?)"
        args += [after.state, after.position, after.id]
    rows = await db.fetch(
        f"SELECT {PUBLIC_COLUMNS}, e.state, e.position, e.update_time, e.metadata "
        f"FROM ({_PAGE.format(where=where)}) e {join_by_id(db.dialect, 'users', 'u', PUBLIC_COLUMNS, 'e.destination_id')} "
        "ORDER BY e.state, e.position, e.destination_id",
        *args, limit,
    )
    at = PUBLIC_COUNT
    return [Friend(public_account(r), r[at], r[at + 1], r[at + 2], r[at + 3]) for r in rows]


async def set_metadata(db: Queries, user_id: str, friend_id: str, metadata: str) -> None:
    await db.execute("UPDATE user_edge SET metadata = ? WHERE source_id = ? AND destination_id = ?", metadata, user_id, friend_id)


async def state_of(db: Queries, source: str, destination: str) -> int | None:
    row = await db.fetchone("SELECT state FROM user_edge WHERE source_id = ? AND destination_id = ?", source, destination)
    return None if row is None else int(row[0])


def edge_key(edge: Friend) -> EdgeCursor:
    return EdgeCursor(edge.state, edge.position, edge.user.id)

