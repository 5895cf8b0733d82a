"""Hostile realtime clients and tokens: each is refused or dropped alone, with bounded memory,
while a bystander keeps being served (issue 13, items 5, 10, 12, 17).

Raw frames go through ``WsClient``'s transport (``frame``), so nothing in the client library
softens them; a client that "never reads" pauses its transport and shrinks its receive buffer.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
import uuid

import pytest
from websockets.frames import Frame, Opcode

from host.net.errors import CloseCode
from host.net.tokens import TokenService
from host.streams import StreamId
from tests.conftest import WAIT, WsClient, connect, new_user
from tests.net.helpers import assert_serving, http


def frame(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=True)


def session_of(app, client_user):
    return next(s for s in app.services.sessions if s.user_id == client_user)


async def gone(app, session_id: str) -> None:
    """Wait until the session has left the registry (it was closed or dropped)."""
    async def wait() -> None:
        while app.services.sessions.get(session_id) is not None:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), WAIT)


# Item 5: a ping flood from a client that never reads ---------------------------------------


async def test_ping_flood_from_a_client_that_never_reads_is_closed(start_server):
    """262 MB of pings gave +408 MB: pongs bypassed the outgoing budget. Now they count."""
    app = await start_server(socket__outgoing_queue_size=32 * 1024, socket__close_ack_wait_ms=100)
    user_id, _ = new_user()
    flooder = await connect(app, user_id, rcvbuf=4096)
    flooder.transport.pause_reading()
    session = session_of(app, user_id)
    session._transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    ping = frame(Opcode.PING, b"p" * 125)
    flood = asyncio.ensure_future(gone(app, session.session_id))
    sent = 0
    while not flood.done():
        assert sent < 64 << 20, "64 MB of pings and the socket is still open"
        flooder.transport.write(ping * 512)
        sent += len(ping) * 512
        await asyncio.sleep(0)  # let the server read
        if flooder.transport.get_write_buffer_size() > 1 << 20:
            break  # the server stopped reading: its side is bounded either way
    assert session._pending_bytes + session._transport.get_write_buffer_size() <= 32 * 1024 + 127
    await asyncio.wait_for(flood, WAIT)  # closed: outgoing queue full (or dropped by write_wait)
    flooder.transport.abort()
    await assert_serving(app)


async def test_socket_whose_outgoing_side_is_full_is_not_read(start_server):
    """Stop reading from a connection whose outgoing side is full; resume once it drains."""
    app = await start_server(socket__outgoing_queue_size=8 << 20, socket__write_wait_ms=60_000)
    user_id, _ = new_user()
    slow = await connect(app, user_id, rcvbuf=4096)
    slow.transport.pause_reading()
    session = session_of(app, user_id)
    session._transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    stream = StreamId(20, label="full")
    app.services.streams.user_join(stream, user_id, session.session_id, hidden=True)
    while not session._paused:
        app.services.streams.send(stream, "x" * 1000)
        await asyncio.sleep(0)
    assert not session._transport.is_reading()
    slow.transport.resume_reading()  # the client catches up
    while session._paused:
        await asyncio.sleep(0.01)
    assert session._transport.is_reading()
    assert await slow.request({"cid": "9", "ping": {}}) is not None  # served again (after the backlog)
    await slow.close()
    await assert_serving(app)


# Item 17: socket.write_wait_ms ---------------------------------------------------------------


async def test_socket_that_cannot_be_written_for_write_wait_ms_is_dropped(start_server):
    app = await start_server(socket__outgoing_queue_size=8 << 20, socket__write_wait_ms=200)
    stream = StreamId(20, label="stalled")
    watcher_user, slow_user = new_user()[0], new_user()[0]
    watcher = await connect(app, watcher_user)
    slow = await connect(app, slow_user, rcvbuf=4096)
    slow.transport.pause_reading()
    session = session_of(app, slow_user)
    session._transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    app.services.streams.user_join(stream, watcher_user, session_of(app, watcher_user).session_id, hidden=True)
    app.services.streams.user_join(stream, slow_user, session.session_id, hidden=True, persistence=False)
    while not session._paused:  # under the 8 MiB budget, so only write_wait can close it
        app.services.streams.send(stream, "x" * 1000)
        await asyncio.sleep(0)
        while not watcher.messages.empty():
            watcher.messages.get_nowait()
    assert not session._overflowed
    await gone(app, session.session_id)
    slow.transport.resume_reading()
    await slow.wait_closed()  # dropped (a reset: no close frame could be written)
    assert await watcher.request({"cid": "1", "ping": {}}) is not None
    await watcher.close()
    await assert_serving(app)


# Item 12: empty continuation frames ------------------------------------------------------------


async def test_flood_of_empty_continuation_frames_is_closed_as_too_big(start_server):
    """12 MB of empty continuations grew memory by 15 MB and never counted: frames count now."""
    app = await start_server(socket__max_message_size_bytes=4096)
    user_id, _ = new_user()
    client = await connect(app, user_id)
    session = session_of(app, user_id)
    client.transport.write(frame(Opcode.TEXT, b'{"cid":"1",', fin=False))
    empty = frame(Opcode.CONT, b"", fin=False)
    client.transport.write(empty * 1000)  # 6 bytes of header each: 6,000 > 4,096
    assert await client.wait_closed() == (CloseCode.MESSAGE_TOO_BIG, "message too big")
    assert session._fragments is None
    await assert_serving(app)


async def test_fragmented_message_within_the_limit_is_still_served(start_server):
    app = await start_server(socket__max_message_size_bytes=4096)
    client = await connect(app)
    parts = [b'{"cid":"2",', b'"ping"', b":{}}"]
    client.transport.write(frame(Opcode.TEXT, parts[0], fin=False) + frame(Opcode.CONT, b"", fin=False) * 10
                           + frame(Opcode.CONT, parts[1], fin=False) + frame(Opcode.CONT, parts[2]))
    assert await client.recv() == {"cid": "2", "pong": {}}
    await client.close()


# Item 10: numbers Go cannot read in a token ------------------------------------------------------


def signed(payload: bytes, key: str) -> str:
    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    signing_input = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + b64(payload)
    return (signing_input + b"." + b64(hmac.new(key.encode(), signing_input, hashlib.sha256).digest())).decode()


def claims(exp: str, iat: str = "1") -> bytes:
    return f'{{"tid":"{uuid.uuid4()}","uid":"{uuid.uuid4()}","usn":"mallory","exp":{exp},"iat":{iat}}}'.encode()


BAD_NUMBERS = [("Infinity", "1"), ("1e400", "1"), ("-Infinity", "1"), ("NaN", "1"), ("4102444800", "Infinity"),
               ("4102444800", "1e400"), ("1e19", "1")]


TOKENS = TokenService(encryption_key="k", refresh_encryption_key="r")


@pytest.mark.parametrize("exp, iat", BAD_NUMBERS)
def test_tokens_with_numbers_go_cannot_read_are_invalid(exp, iat):
    assert TOKENS.verify_session(signed(claims(exp, iat), "k")) is None


def test_a_good_token_built_the_same_way_is_valid():
    assert TOKENS.verify_session(signed(claims("4102444800"), "k")) is not None


@pytest.mark.parametrize("exp", ["Infinity", "1e400"])
async def test_infinite_exp_is_401_on_rest_rpc_and_socket(start_server, exp):
    modules = {"echo.lua": """
        local nk = require("nakama")
        nk.register_rpc(function(ctx, payload) return payload end, "echo")
    """}
    app = await start_server(modules)
    token = signed(claims(exp), app.services.config.session.encryption_key)
    bearer = {"Authorization": f"Bearer {token}"}
    account = await http(app.port, "GET", "/v2/account", headers=bearer)
    assert (account.status, account.json()) == (401, {"code": 16, "message": "Auth token invalid"})
    rpc = await http(app.port, "POST", "/v2/rpc/echo", '"x"', headers=bearer)
    assert rpc.status == 401
    client = await WsClient.connect(app.port, f"token={token}", check=False)
    response = await client.opened
    assert (response.status_code, response.body) == (401, b"Missing or invalid token\n")
    assert await asyncio.wait_for(client.closed, WAIT) is not None  # the server closed the socket
    assert len(app.services.sessions) == 0
    await assert_serving(app)
