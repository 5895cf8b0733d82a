"""Clients that hold HTTP connections hostage: never reading, never finishing a request, never
leaving, or too many of them (issue 13, items 5, 6, 7). Each is bounded or closed while a
bystander keeps being served.
"""

from __future__ import annotations

import asyncio
import logging
import socket

from host.net.http_protocol import HttpProtocol
from tests.conftest import WAIT
from tests.net.helpers import assert_serving, build_request, http, read_reply


def http_connections(app) -> list[HttpProtocol]:
    return [c for c in app.server._connections if isinstance(c, HttpProtocol)]


async def until(condition) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), WAIT)


async def test_pipelined_requests_from_a_client_that_never_reads_stay_bounded(start_server):
    """76 MB of pipelined GETs gave +438 MB RSS: now answering and reading pause."""
    app = await start_server()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", app.port))
    sock.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(build_request("GET", "/healthcheck"))
    assert (await read_reply(reader)).status == 200
    (conn,) = http_connections(app)
    conn._transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    reader._transport.pause_reading()  # the client stops reading  # type: ignore[attr-defined]
    count = 40_000
    writer.write(build_request("GET", "/healthcheck") * count)  # ~1.5 MB
    await until(lambda: conn._reading_paused and conn._write_paused)
    assert len(conn._queue) <= 32 + 16 * 1024 // 40  # the queue's pause mark plus one slice
    assert conn._transport.get_write_buffer_size() <= 64 * 1024 + 256
    await assert_serving(app)
    reader._transport.resume_reading()  # type: ignore[attr-defined]
    for _ in range(count):  # every request is answered, in order, once the client reads
        assert (await read_reply(reader)).status == 200
    writer.close()


async def test_request_not_read_within_read_timeout_is_closed(start_server):
    app = await start_server(socket__read_timeout_ms=200)
    silent = await asyncio.open_connection("127.0.0.1", app.port)  # connects, sends nothing
    trickle = await asyncio.open_connection("127.0.0.1", app.port)
    trickle[1].write(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n")  # and never the end of the head
    for reader, writer in (silent, trickle):
        assert await asyncio.wait_for(reader.read(), WAIT) == b""  # closed, no answer
        writer.close()
    await assert_serving(app)


async def test_idle_keep_alive_connection_is_closed_after_idle_timeout(start_server):
    app = await start_server(socket__idle_timeout_ms=200)
    reader, writer = await asyncio.open_connection("127.0.0.1", app.port)
    writer.write(build_request("GET", "/healthcheck"))
    assert (await read_reply(reader)).status == 200
    assert await asyncio.wait_for(reader.read(), WAIT) == b""
    writer.close()
    await assert_serving(app)


async def test_slow_rpc_is_not_a_timeout(start_server):
    modules = {"slow.lua": """
        local nk = require("nakama")
        nk.register_rpc(function(ctx, payload)
            local t = os.clock()
            while os.clock() - t < 0.6 do end
            return payload
        end, "slow")
    """}
    app = await start_server(modules, socket__read_timeout_ms=100, socket__idle_timeout_ms=100)
    reply = await http(app.port, "POST", "/v2/rpc/slow?http_key=defaulthttpkey&unwrap", "done")
    assert (reply.status, reply.body) == (200, b"done")


async def test_connection_cap_refuses_with_503_and_one_warning(start_server, caplog):
    app = await start_server(socket__max_connections=3)
    held = []
    for _ in range(3):
        reader, writer = await asyncio.open_connection("127.0.0.1", app.port)
        writer.write(build_request("GET", "/healthcheck"))
        assert (await read_reply(reader)).status == 200
        held.append((reader, writer))
    with caplog.at_level(logging.INFO, logger="nkhost.server"):
        for _ in range(2):
            reader, writer = await asyncio.open_connection("127.0.0.1", app.port)
            reply = await read_reply(reader)
            assert (reply.status, reply.headers["connection"]) == (503, "close")
            writer.close()
        for _ in range(2):  # room for the bystander's HTTP connection and its socket
            held.pop()[1].close()
        await until(lambda: len(app.server._connections) == 1)
        await assert_serving(app)
    messages = [r.getMessage() for r in caplog.records if r.name == "nkhost.server"]
    assert messages[0] == "connection limit reached: 3 connections open (socket.max_connections), refusing new ones"
    assert messages[1].startswith("accepting connections again")
    assert len(messages) == 2
    for _, writer in held:
        writer.close()


async def test_default_keys_are_warned_about_at_start(start_server, caplog):
    with caplog.at_level(logging.WARNING, logger="nkhost"):
        await start_server()
    warned = [r.getMessage() for r in caplog.records if "insecure default" in r.getMessage()]
    assert warned == [
        f"WARNING: insecure default parameter value, change this for production! param={key}"
        for key in ("socket.server_key", "runtime.http_key", "session.encryption_key", "session.refresh_encryption_key")
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="nkhost"):
        await start_server(socket__server_key="s3", runtime__http_key="h3", session__encryption_key="e3",
                           session__refresh_encryption_key="r3")
    assert not [r for r in caplog.records if "insecure default" in r.getMessage()]
