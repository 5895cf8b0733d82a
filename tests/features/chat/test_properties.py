"""Random chat on the real core, stream engine and a real SQLite file: bursts of concurrent
sends from members of two rooms, each member joined with or without persistence, some hidden,
some leaving between bursts. Every member hears every message of its rooms exactly once, in
the order they were sent; history lists exactly the persistent ones, in that order."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from host.app import schemas
from host.features.chat.channel import room
from host.features.chat.core import Caller, ChatCore
from host.features.chat.history import decode_cursor
from host.storage.migrate import migrate
from host.storage.sqlite import SqliteDatabase
from tests.streams.helpers import make_engine

PLAYERS = 4
ROOMS = [room("one"), room("two")]

membership = st.lists(  # per player and room: None (not joined) or (persistence, hidden)
    st.lists(st.one_of(st.none(), st.tuples(st.booleans(), st.booleans())), min_size=len(ROOMS), max_size=len(ROOMS)),
    min_size=PLAYERS, max_size=PLAYERS,
)
send = st.tuples(st.integers(0, PLAYERS - 1), st.integers(0, len(ROOMS) - 1))
burst = st.tuples(st.lists(send, max_size=12), st.lists(st.tuples(st.integers(0, PLAYERS - 1), st.integers(0, len(ROOMS) - 1)), max_size=1))


async def scenario(joined: list[list[tuple[bool, bool] | None]], bursts: list[tuple[list[tuple[int, int]], list[tuple[int, int]]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = SqliteDatabase(Path(tmp) / "chat.db")
        await db.open()
        try:
            await migrate(db, schemas())
            await check(db, joined, bursts)
        finally:
            await db.close()


async def check(db, joined, bursts) -> None:
    eng = make_engine()
    core = ChatCore(db, eng.manager, None, None, None, None)
    sinks = [eng.connect(f"{i:08d}-0000-4000-8000-000000000000", f"p{i}") for i in range(PLAYERS)]
    callers = [Caller(s.user_id, s.session_id, s.username) for s in sinks]
    members: list[set[int]] = [set() for _ in ROOMS]
    persistent: dict[tuple[int, int], bool] = {}
    for p, flags in enumerate(joined):
        for r, flag in enumerate(flags):
            if flag is not None:
                eng.manager.user_join(ROOMS[r].stream, callers[p].user_id, callers[p].session_id, flag[1], flag[0])
                members[r].add(p)
                persistent[p, r] = flag[0]
    expected: dict[tuple[int, int], list[int]] = {(p, r): [] for p in range(PLAYERS) for r in range(len(ROOMS))}
    stored: list[list[int]] = [[] for _ in ROOMS]
    sent = 0
    for sends, leaves in bursts:
        calls = []
        for p, r in sends:
            if p not in members[r]:
                continue
            sent += 1
            calls.append(core.send(callers[p], ROOMS[r].id, orjson.dumps({"n": sent}).decode()))
            for q in members[r]:
                expected[q, r].append(sent)
            if persistent[p, r]:
                stored[r].append(sent)
        await asyncio.gather(*calls)  # sent together: the writer batches the persistent ones
        for p, r in leaves:
            core.leave(callers[p], ROOMS[r].id)
            members[r].discard(p)
    heard: dict[tuple[int, int], list[int]] = {key: [] for key in expected}
    by_id = {c.id: r for r, c in enumerate(ROOMS)}
    for p, sink in enumerate(sinks):
        for envelope in eng.received(sink):
            if "channel_message" in envelope:
                message = envelope["channel_message"]
                heard[p, by_id[message["channel_id"]]].append(orjson.loads(message["content"])["n"])
    assert heard == expected
    for r, channel in enumerate(ROOMS):
        listed, cursor = [], None
        while True:
            page = await core.history(channel, 5, True, cursor)
            listed += [orjson.loads(m.content)["n"] for m in page.messages]
            if not page.next_cursor:
                break
            cursor = decode_cursor(page.next_cursor, channel, True)
        assert listed == stored[r]


@settings(max_examples=40, deadline=None)
@given(membership, st.lists(burst, max_size=4))
def test_every_member_hears_every_message_once_in_order_and_history_keeps_the_persistent_ones(joined, bursts):
    asyncio.run(scenario(joined, bursts))
