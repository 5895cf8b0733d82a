"""The ``groups`` and ``group_edge`` tables, on either database engine.

Unlike Nakama (two ``group_edge`` rows per membership, group->user and user->group) a
membership is one row, indexed both ways: ``group_edge_users_idx`` (group, state, position,
user) lists a group's users and ``group_edge_groups_idx`` (user, state, position, group) a
user's groups, each page one index range joined to the other table by primary key.
Times are unix seconds; positions unix nanoseconds (the listing order within a state).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ...accounts.store import Account
from ...accounts.users import PUBLIC_COLUMNS, PUBLIC_COUNT, public_account
from ...storage import Database, Dialect, Queries, Schema
from ..edge_cursor import EdgeCursor, join_by_id

__all__ = [
    "SCHEMA", "Group", "GroupUser", "UserGroup", "GROUP_COLUMNS", "group_from", "lock_group", "state_of", "states_of",
    "superadmins_besides", "set_state", "insert_group", "users_page", "groups_page", "groups_by_ids", "usernames", "admins",
    "Search", "search",
]

SCHEMA = Schema(
    "groups",
    [
        # 1: groups (state 0 open, 1 closed) and memberships. Column sizes are Nakama's.
        """
        CREATE TABLE groups (
            id           {uuid} PRIMARY KEY,
            creator_id   {uuid} NOT NULL,
            name         VARCHAR(255) NOT NULL CONSTRAINT groups_name_key UNIQUE,
            description  VARCHAR(255),
            avatar_url   VARCHAR(512),
            lang_tag     VARCHAR(18) NOT NULL DEFAULT 'en',
            metadata     {json} NOT NULL DEFAULT '{}',
            state        SMALLINT NOT NULL DEFAULT 0,
            edge_count   INTEGER NOT NULL DEFAULT 0,
            max_count    INTEGER NOT NULL DEFAULT 100,
            create_time  BIGINT NOT NULL,
            update_time  BIGINT NOT NULL
        );
        CREATE INDEX groups_lang_tag_idx ON groups (lang_tag, id);
        CREATE INDEX groups_edge_count_idx ON groups (edge_count, id);
        CREATE TABLE group_edge (
            group_id     {uuid} NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
            user_id      {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            state        SMALLINT NOT NULL,
            position     BIGINT NOT NULL,
            update_time  BIGINT NOT NULL,
            PRIMARY KEY (group_id, user_id)
        );
        CREATE INDEX group_edge_users_idx ON group_edge (group_id, state, position, user_id);
        CREATE INDEX group_edge_groups_idx ON group_edge (user_id, state, position, group_id)
        """,
    ],
)

GROUP_COLUMNS = (
    "g.id, g.creator_id, g.name, g.description, g.avatar_url, g.lang_tag, g.metadata, g.state, "
    "g.edge_count, g.max_count, g.create_time, g.update_time"
)
GROUP_COUNT = 12


@dataclass(slots=True)
class Group:
    id: str
    creator_id: str
    name: str
    description: str
    avatar_url: str
    lang_tag: str
    metadata: str
    open: bool
    edge_count: int
    max_count: int
    create_time: int
    update_time: int


def group_from(row: Sequence[object], at: int = 0) -> Group:
    gid, creator, name, description, avatar, lang, metadata, state, edges, max_count, created, updated = row[at : at + GROUP_COUNT]
    return Group(
        str(gid), str(creator), name, description or "", avatar or "", lang or "", metadata or "{}", state == 0,  # type: ignore[arg-type]
        edges, max_count, created, updated,  # type: ignore[arg-type]
    )


@dataclass(slots=True)
class GroupUser:
    user: Account
    state: int
    position: int
    online: bool = False


@dataclass(slots=True)
class UserGroup:
    group: Group
    state: int
    position: int


# Reads and writes inside a membership transaction --------------------------------------


async def lock_group(tx: Queries, dialect: Dialect, group_id: str) -> Group | None:
    """The group, its row locked until the transaction ends: changes to one group take turns."""
    row = await tx.fetchone(f"SELECT {GROUP_COLUMNS} FROM groups g WHERE g.id = ?{dialect.for_update}", group_id)
    return None if row is None else group_from(row)


async def state_of(db: Queries, group_id: str, user_id: str) -> int | None:
    row = await db.fetchone("SELECT state FROM group_edge WHERE group_id = ? AND user_id = ?", group_id, user_id)
    return None if row is None else int(row[0])


async def states_of(tx: Queries, group_id: str, user_ids: Sequence[str]) -> dict[str, int]:
    if not user_ids:
        return {}
    marks = ", ".join("?" * len(user_ids))
    rows = await tx.fetch(f"SELECT user_id, state FROM group_edge WHERE group_id = ? AND user_id IN ({marks})", group_id, *user_ids)
    return {str(uid): int(state) for uid, state in rows}


async def superadmins_besides(tx: Queries, group_id: str, user_id: str) -> int:
    row = await tx.fetchone(
        "SELECT COUNT(*) FROM group_edge WHERE group_id = ? AND state = 0 AND user_id <> ?", group_id, user_id
    )
    return int(row[0]) if row else 0


async def set_state(tx: Queries, group_id: str, user_id: str, old: int | None, new: int | None, now: int, position: int) -> None:
    if new is None:
        await tx.execute("DELETE FROM group_edge WHERE group_id = ? AND user_id = ?", group_id, user_id)
    elif old is None or new == 4:  # a new row, or a ban: a ban starts a new position, as Nakama
        await tx.execute(
            "INSERT INTO group_edge (group_id, user_id, state, position, update_time) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (group_id, user_id) DO UPDATE SET state = excluded.state, position = excluded.position, "
            "update_time = excluded.update_time",
            group_id, user_id, new, position, now,
        )
    else:
        await tx.execute("UPDATE group_edge SET state = ?, update_time = ? WHERE group_id = ? AND user_id = ?", new, now, group_id, user_id)


async def insert_group(tx: Queries, group: Group, superadmin: str, position: int) -> None:
    await tx.execute(
        "INSERT INTO groups (id, creator_id, name, description, avatar_url, lang_tag, metadata, state, edge_count, max_count, "
        "create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
        group.id, group.creator_id, group.name, group.description or None, group.avatar_url or None, group.lang_tag,
        group.metadata, 0 if group.open else 1, group.max_count, group.create_time, group.update_time,
    )
    await tx.execute(
        "INSERT INTO group_edge (group_id, user_id, state, position, update_time) VALUES (?, ?, 0, ?, ?)",
        group.id, superadmin, position, group.create_time,
    )


async def usernames(tx: Queries, user_ids: Sequence[str]) -> dict[str, str]:
    if not user_ids:
        return {}
    marks = ", ".join("?" * len(user_ids))
    rows = await tx.fetch(f"SELECT id, username FROM users WHERE id IN ({marks})", *user_ids)
    return {str(uid): name for uid, name in rows}


async def admins(tx: Queries, group_id: str) -> list[str]:
    """The superadmins and admins (join requests notify them)."""
    rows = await tx.fetch("SELECT user_id FROM group_edge WHERE group_id = ? AND state <= 1 ORDER BY state, position", group_id)
    return [str(uid) for (uid,) in rows]


# Listings -----------------------------------------------------------------------------


def _edge_page(owner: str, other: str, state: int | None, after: EdgeCursor | None) -> tuple[str, list[object]]:
    """The page of memberships of one group (or one user): one range of its listing index, one
    state or every state but banned (as Nakama). Takes the owner id, then the limit."""
    where, args = "", []
    if state is not None:
        where, args = " AND state = ?", [state]
        if after is not None:
            where += f" AND (position, {other}) >= (?, ?)"
            args += [after.position, after.id]
    else:
        where = " AND state <= 3"
        if after is not None:
            where += f" AND (state, position, {other}) >= (?, ?, ?)"
            args += [after.state, after.position, after.id]
    sql = f"SELECT {other}, state, position FROM group_edge WHERE {owner} = ?{where} ORDER BY state, position, {other} LIMIT ?"
    return sql, args


async def users_page(db: Database, group_id: str, limit: int, state: int | None, after: EdgeCursor | None) -> list[GroupUser]:
    page, args = _edge_page("group_id", "user_id", state, after)
    rows = await db.fetch(
        f"SELECT {PUBLIC_COLUMNS}, ge.state, ge.position FROM ({page}) ge "
        f"{join_by_id(db.dialect, 'users', 'u', PUBLIC_COLUMNS, 'ge.user_id')} "
        "ORDER BY ge.state, ge.position, ge.user_id",
        group_id, *args, limit,
    )
    at = PUBLIC_COUNT
    return [GroupUser(public_account(r), r[at], r[at + 1]) for r in rows]


async def groups_page(db: Database, user_id: str, limit: int, state: int | None, after: EdgeCursor | None) -> list[UserGroup]:
    page, args = _edge_page("user_id", "group_id", state, after)
    rows = await db.fetch(
        f"SELECT {GROUP_COLUMNS}, ge.state, ge.position FROM ({page}) ge "
        f"{join_by_id(db.dialect, 'groups', 'g', GROUP_COLUMNS, 'ge.group_id')} "
        "ORDER BY ge.state, ge.position, ge.group_id",
        user_id, *args, limit,
    )
    return [UserGroup(group_from(r), r[GROUP_COUNT], r[GROUP_COUNT + 1]) for r in rows]


async def groups_by_ids(db: Queries, ids: Sequence[str]) -> list[Group]:
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    rows = await db.fetch(f"SELECT {GROUP_COLUMNS} FROM groups g WHERE g.id IN ({marks})", *ids)
    return [group_from(r) for r in rows]


@dataclass(frozen=True, slots=True)
class Search:
    """A ListGroups query. With ``name`` (a LIKE pattern) the other filters must be unset."""

    name: str = ""
    lang_tag: str = ""
    open: bool | None = None
    members: int | None = None  # at most this many members, the fullest first

    @property
    def order(self) -> str:
        """Which order the listing (and so its cursor) follows: by name, by size, or by id."""
        return "name" if self.name else "members" if self.members is not None else "id"


async def search(db: Queries, dialect: Dialect, query: Search, limit: int, after: tuple[object, ...] | None) -> list[Group]:
    """Up to ``limit`` groups matching ``query`` after the row ``after`` (its sort key)."""
    where, args = [], []  # type: ignore[var-annotated]
    if query.name:
        where.append(f"g.name {dialect.ilike} ?")
        args.append(query.name)
    if query.open is not None:
        where.append("g.state = ?")
        args.append(0 if query.open else 1)
    if query.lang_tag:
        where.append("g.lang_tag = ?")
        args.append(query.lang_tag)
    if query.members is not None:
        where.append("g.edge_count <= ?")
        args.append(query.members)
    order = {"name": "g.name", "members": "g.edge_count DESC, g.id", "id": "g.id"}[query.order]
    if after is not None:
        if query.order == "members":
            where.append("(g.edge_count < ? OR (g.edge_count = ? AND g.id > ?))")
            args += [after[0], after[0], after[1]]
        else:
            where.append(f"{order} > ?")
            args.append(after[0])
    sql = f"SELECT {GROUP_COLUMNS} FROM groups g" + (" WHERE " + " AND ".join(where) if where else "")
    rows = await db.fetch(f"{sql} ORDER BY {order} LIMIT ?", *args, limit)
    return [group_from(r) for r in rows]
