"""The listings are index-driven on both engines: a friends list, a group's users and a user's
groups of 1,000 entries in a database of 2,000 other users and groups, each page shape (all
states, one state, from a cursor): no full scan of any table.

SQLite's plan (EXPLAIN QUERY PLAN) is what it runs: it joins by nested loops only, each table
reached through an index. PostgreSQL probes the users (or groups) by primary key per row (see
``host.features.edge_cursor.join_by_id``), but for the page of edges it weighs a scan against
the index by the table's size, and at test sizes a scan of a few thousand rows is the cheaper
plan (as it would be in production with tables this small). So its plan is asked with
``enable_seqscan = off`` after ANALYZE: it then still scans (a Seq Scan, or a whole index for a
condition on a later column) any table no index serves, so a plan without such scans proves
every table of the listing is reached through an index range, as it is once tables grow.
"""

from __future__ import annotations

import itertools
import re
import time
import uuid

import pytest

from host.features.edge_cursor import EdgeCursor
from host.features.friends import store as friends
from host.features.groups import store as groups

ENTRIES, BACKGROUND = 1000, 2_000

# Background rows made by the database itself (fast): users, groups with one member each.
_UUID = {
    "sqlite": "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-a'"
    " || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))",
    "postgres": "gen_random_uuid()",
}
_SERIES = {
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) ",
    "postgres": "WITH n(i) AS (SELECT generate_series(1, {count})) ",
}


class Recording:
    """Runs queries on the database and keeps the last one, to ask the planner about it."""

    def __init__(self, db) -> None:
        self.db = db
        self.dialect = db.dialect
        self.last: tuple[str, tuple] = ("", ())

    async def fetch(self, sql: str, *args):
        self.last = (sql, args)
        return await self.db.fetch(sql, *args)


async def _seed(db) -> tuple[str, str, str]:
    """(a user with 1,000 friend edges, a group of 1,000 members, a user in 1,000 groups), among
    2,000 other users, 2,000 other friend edges and 2,000 other groups with a member each."""
    dialect = db.dialect.name
    series, new_id = _SERIES[dialect].format(count=BACKGROUND), _UUID[dialect]
    await db.execute(f"INSERT INTO users (id, username, create_time, update_time) {series}SELECT {new_id}, 'bg' || i, 0, 0 FROM n")
    await db.execute(f"INSERT INTO groups (id, creator_id, name, create_time, update_time) {series}"
                     f"SELECT {new_id}, {new_id}, 'bg' || i, 0, 0 FROM n")
    await db.execute("INSERT INTO group_edge (group_id, user_id, state, position, update_time) "
                     "SELECT g.id, u.id, 2, 0, 0 FROM groups g JOIN users u ON u.username = 'bg' || substr(g.name, 3)")
    await db.execute("INSERT INTO user_edge (source_id, destination_id, state, position, update_time) "
                     "SELECT a.id, b.id, 0, 0, 0 FROM users a JOIN users b ON b.username = 'bg' || (CAST(substr(a.username, 3) AS INTEGER) % "
                     f"{BACKGROUND} + 1)")
    now = int(time.time())
    owner, member = str(uuid.uuid4()), str(uuid.uuid4())
    ids = [str(uuid.uuid4()) for _ in range(ENTRIES)]
    await db.executemany(
        "INSERT INTO users (id, username, create_time, update_time) VALUES (?, ?, ?, ?)",
        [(u, "u" + u.replace("-", ""), now, now) for u in [owner, member, *ids]],
    )
    await db.executemany(
        "INSERT INTO user_edge (source_id, destination_id, state, position, update_time) VALUES (?, ?, ?, ?, ?)",
        [(owner, u, i % 4, i, now) for i, u in enumerate(ids)],
    )
    group_ids = [str(uuid.uuid4()) for _ in range(ENTRIES + 1)]
    await db.executemany(
        "INSERT INTO groups (id, creator_id, name, edge_count, create_time, update_time) VALUES (?, ?, ?, 1, ?, ?)",
        [(g, owner, f"group {g}", now, now) for g in group_ids],
    )
    big = group_ids[0]
    memberships = [(big, u, i % 5, i, now) for i, u in enumerate(ids)]
    memberships += [(g, member, i % 5, i, now) for i, g in enumerate(group_ids[1:])]
    await db.executemany("INSERT INTO group_edge (group_id, user_id, state, position, update_time) VALUES (?, ?, ?, ?, ?)", memberships)
    return owner, big, member


_INDEX_USE = re.compile(r"(?:Index Scan|Index Only Scan) using (\S+)|Bitmap Index Scan on (\S+)")


def _full_scans(engine: str, plan: list[str], leading: dict[str, str]) -> list[str]:
    """Plan lines that read a whole table (or a whole index): SQLite's ``SCAN <table>``, and
    PostgreSQL's Seq Scans and index scans whose condition leaves out the index's first column
    (PostgreSQL can scan an index for a condition on a later column: as costly as a Seq Scan)."""
    if engine == "sqlite":
        derived = {m.group(2) for line in plan if (m := re.match(r"(MATERIALIZE|CO-ROUTINE) (\S+)", line))}
        return [line for line in plan if (m := re.match(r"SCAN (\S+)", line)) and m.group(1) not in derived]
    bad = [line for line in plan if "Seq Scan" in line]
    for i, line in enumerate(plan):
        if (m := _INDEX_USE.search(line)) is not None:
            column = leading[m.group(1) or m.group(2)]
            details = list(itertools.takewhile(lambda d: "->" not in d, plan[i + 1 :]))  # up to the next node
            conds = [d for d in details if "Index Cond:" in d]
            if not any(re.search(rf"\(\(?{column} = ", d) for d in conds):
                bad.append(" / ".join(x.strip() for x in [line, *conds]))
    return bad


async def _leading_columns(db) -> dict[str, str]:
    """Each PostgreSQL index's first column."""
    if db.dialect.name == "sqlite":
        return {}
    rows = await db.fetch(
        "SELECT c.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
    )
    return {str(name): str(column) for name, column in rows}


async def _plan(db, sql: str, args: tuple) -> list[str]:
    if db.dialect.name == "sqlite":
        return [str(r[-1]) for r in await db.fetch("EXPLAIN QUERY PLAN " + sql, *args)]

    async def explain(tx) -> list[str]:
        await tx.execute("SET LOCAL enable_seqscan = off")
        return [str(r[0]) for r in await tx.fetch("EXPLAIN " + sql, *args)]

    return await db.transact(explain)


@pytest.fixture
async def seeded(engine: str, new_database):
    db = await new_database(engine)
    keys = await _seed(db)
    if engine == "postgres":
        await db.execute("ANALYZE")  # what autovacuum keeps up to date on a live server
    return db, keys


PAGES = [  # limit, state, from a cursor
    (ENTRIES + 1, None, False), (101, None, True), (ENTRIES + 1, 2, False), (101, 1, True),
]


async def test_listings_use_indexes(engine: str, seeded) -> None:
    db, (owner, group, member) = seeded
    recording = Recording(db)
    leading = await _leading_columns(db)
    for listing, page, subject, index, limit_cap in (
        ("friends", friends.page, owner, "user_edge_list_idx", ENTRIES + 1),
        ("group_users", groups.users_page, group, "group_edge_users_idx", ENTRIES + 1),
        ("user_groups", groups.groups_page, member, "group_edge_groups_idx", 101),
    ):
        await _check(engine, db, recording, leading, listing, page, subject, index, limit_cap)


async def _check(engine, db, recording, leading, listing, page, subject, index, limit_cap) -> None:
    for limit, state, from_cursor in PAGES:
        limit = min(limit, limit_cap)
        after = EdgeCursor(state or 0, 10, str(uuid.UUID(int=0))) if from_cursor else None
        rows = await page(recording, subject, limit, state, after)
        assert rows, (listing, limit, state)
        sql, args = recording.last
        plan = await _plan(db, sql, args)
        assert _full_scans(engine, plan, leading) == [], (listing, limit, state, plan)
        if engine == "sqlite":  # the page is one range of the listing's own index
            assert any(re.search(f"USING (COVERING )?INDEX {index} ", line) for line in plan), plan
