"""A client that stops reading is closed on overflow, alone: no cascade, nothing lost for others.

200 healthy sockets and one that never reads share a stream. A fan-out burst
overflows the slow socket's byte budget; it is closed (its leave reaches
everyone) while every healthy socket receives every message. Unreliable sends
are dropped for the paused socket only.

The kernel would absorb ~3 MB for a non-reading localhost peer before the
transport buffer even starts to grow; the test shrinks the slow socket's
kernel buffers so the byte budget (256 KiB here) is what overflows.
"""

from __future__ import annotations

import asyncio
import socket

import orjson

from host.streams import StreamId
from tests.conftest import WAIT, connect, new_user

HEALTHY = 200
BUDGET = 256 * 1024
ROUND = 50  # messages per burst tick
PAYLOAD = "x" * 1000


def session_of(app, user_id):
    return next(s for s in app.services.sessions if s.user_id == user_id)


async def drain(clients, count: int) -> None:
    """Wait until every client has received ``count`` more messages."""

    async def take(client):
        for _ in range(count):
            await client.messages.get()

    await asyncio.wait_for(asyncio.gather(*(take(c) for c in clients)), WAIT)


async def test_slow_reader_is_closed_alone_during_a_fan_out_burst(start_server):
    # close_ack_wait: the slow client never answers the close frame; do not wait 2 s for it
    app = await start_server(socket__outgoing_queue_size=BUDGET, socket__close_ack_wait_ms=100)
    streams = app.services.streams
    stream = StreamId(20, label="burst")

    healthy = []
    for _ in range(HEALTHY):
        user_id, _ = new_user()
        client = await connect(app, user_id, raw=True)
        streams.user_join(stream, user_id, session_of(app, user_id).session_id, hidden=True)
        healthy.append(client)

    slow_user, _ = new_user()
    slow = await connect(app, slow_user, rcvbuf=4096)
    slow.transport.pause_reading()  # the client stops reading
    slow_session = session_of(app, slow_user)
    slow_session._transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    streams.user_join(stream, slow_user, slow_session.session_id)  # visible: its leave must reach everyone
    await drain(healthy, 1)  # its join event

    sent = 0
    unreliable_sent = False
    while app.services.sessions.get(slow_session.session_id) is not None:
        assert sent < 4 * BUDGET // len(PAYLOAD), "the slow socket was never closed"
        for _ in range(ROUND):  # one loop tick: the fan-out never waits for a socket
            assert streams.send(stream, PAYLOAD) >= HEALTHY
            sent += 1
        expected = ROUND
        if slow_session._paused and not unreliable_sent and not slow_session._overflowed:
            # every healthy socket gets it; the paused one does not
            assert streams.send(stream, "unreliable", reliable=False) == HEALTHY
            unreliable_sent = True
            expected += 1
        await drain(healthy, expected)

    assert unreliable_sent, "the slow socket never paused"
    leave = {"stream_presence_event": {"stream": {"mode": 20, "label": "burst"}, "leaves": [
        {"user_id": slow_user, "session_id": slow_session.session_id, "username": "u" + slow_user[:8], "persistence": True}]}}
    for client in healthy:
        assert orjson.loads(await asyncio.wait_for(client.messages.get(), WAIT)) == leave
        assert client.messages.empty()
        assert not client.closed.done()
    assert len(app.services.sessions) == HEALTHY
    assert streams.count(stream) == HEALTHY
    slow.transport.resume_reading()
    await slow.wait_closed()  # the connection itself is gone (aborted after close_ack_wait)
