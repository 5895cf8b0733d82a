"""The chat writer on a real database of each engine and the real stream engine: persistent
messages are written in batches (never one statement per message under load), pushed only
once durable and in the order they were accepted, and a row that cannot be stored fails alone."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest

from host.features.chat.channel import room
from host.features.chat.core import ChatCore
from host.features.chat.history import decode_cursor
from host.features.chat.message import Message
from host.storage import DatabaseError
from tests.streams.helpers import make_engine

LOBBY = room("lobby")
SENDER = str(uuid.uuid4())


@pytest.fixture
async def chat(engine, new_database):
    db = await new_database(engine)
    eng = make_engine()
    core = ChatCore(db, eng.manager, None, None, None, None)
    sink = eng.connect("listener")
    eng.manager.user_join(LOBBY.stream, "listener", sink.session_id)
    yield core, eng, sink
    await core.close()


def heard(eng, sink) -> list[str]:
    return [orjson.loads(m["channel_message"]["content"])["n"] for m in eng.received(sink) if "channel_message" in m]


async def stored(core: ChatCore) -> list[int]:
    """Every stored message of the lobby, oldest first, page after page."""
    out, cursor = [], None
    while True:
        page = await core.history(LOBBY, 100, True, cursor)
        out += [orjson.loads(m.content)["n"] for m in page.messages]
        if not page.next_cursor:
            return out
        cursor = decode_cursor(page.next_cursor, LOBBY, True)


async def test_concurrent_messages_share_statements_and_are_durable_when_acknowledged(chat):
    core, eng, sink = chat
    count = 300
    await asyncio.gather(*(core.post(LOBBY, f'{{"n":{i}}}', SENDER, "user", True) for i in range(count)))
    assert core.writer.batches < count / 10  # 300 messages arrived together: a handful of statements
    assert await stored(core) == list(range(count))  # every acknowledged message is there, in order
    assert heard(eng, sink) == list(range(count))
    await core.post(LOBBY, '{"n":-1}', SENDER, "user", True)  # an idle writer stores a lone message at once
    assert (await stored(core))[-1] == -1


async def test_a_channels_pushes_keep_the_order_messages_were_accepted_in(chat):
    core, eng, sink = chat
    elsewhere = room("elsewhere")
    other = eng.connect("other")
    eng.manager.user_join(elsewhere.stream, "other", other.session_id)
    first = asyncio.ensure_future(core.post(LOBBY, '{"n":1}', SENDER, "user", True))
    await asyncio.sleep(0)  # first is queued, its write not done
    second = asyncio.ensure_future(core.post(LOBBY, '{"n":2}', SENDER, "user", False))
    await core.post(elsewhere, '{"n":9}', SENDER, "user", False)  # nothing queued on that channel: at once
    assert heard(eng, other) == [9] and heard(eng, sink) == []
    await asyncio.gather(first, second)
    assert heard(eng, sink) == [1, 2]  # the non-persistent one waited behind the stored one
    assert await stored(core) == [1]


async def test_a_row_that_cannot_be_stored_fails_alone(chat):
    core, eng, sink = chat
    await core.post(LOBBY, '{"n":0}', SENDER, "user", True)
    (row,) = (await core.history(LOBBY, 1, True, None)).messages
    now = core.now()
    batch = [Message(LOBBY, str(uuid.uuid4()), 0, SENDER, "user", f'{{"n":{i}}}', now + i, now + i, True) for i in range(1, 4)]
    batch[1].id = row.id  # already stored: the batch's statement fails, then each row alone
    results = await asyncio.gather(*(core.writer.store(m) for m in batch), return_exceptions=True)
    assert results[0] is None and results[2] is None and isinstance(results[1], DatabaseError)
    assert await stored(core) == [0, 1, 3]
    assert heard(eng, sink) == [0, 1, 3]  # the one not stored was not pushed


async def test_nothing_is_pushed_when_the_database_refuses_the_batch(chat):
    core, eng, sink = chat
    await core.db.execute("DROP TABLE message")
    results = await asyncio.gather(*(core.post(LOBBY, f'{{"n":{i}}}', SENDER, "user", True) for i in range(3)), return_exceptions=True)
    assert all(isinstance(r, DatabaseError) for r in results)
    assert heard(eng, sink) == []
    await core.post(LOBBY, '{"n":7}', SENDER, "user", False)  # the writer is still serving
    assert heard(eng, sink) == [7]
