"""Incoming WebSocket frames however the bytes arrive: split, batched, fragmented, invalid.

The session parses plain text frames itself and hands every other frame to the
``websockets`` ServerProtocol whole; these tests pin that both routes give the
same messages, replies and close codes, wherever TCP cuts the stream.
"""

from __future__ import annotations

import asyncio

import orjson
import pytest
from websockets.frames import Frame, Opcode

from host.net.errors import CloseCode
from tests.conftest import connect

MODULES = {
    "rpcs.lua": """
        local nk = require("nakama")
        nk.register_rpc(function(ctx, payload) return payload end, "echo")
    """
}


@pytest.fixture
async def app(start_server):
    return await start_server(MODULES, socket__max_message_size_bytes=100_000)


def frame(opcode: Opcode, data: bytes, fin: bool = True, rsv1: bool = False) -> bytes:
    raw = Frame(opcode, data, fin).serialize(mask=True)
    return bytes([raw[0] | 0x40]) + raw[1:] if rsv1 else raw


def rpc(cid: str, payload: str) -> bytes:
    return orjson.dumps({"cid": cid, "rpc": {"id": "echo", "payload": payload}})


def stream() -> tuple[bytes, list[str]]:
    """Frames of every kind and length encoding, and the payloads echoed back in order."""
    big = "b" * 300  # 16-bit length
    huge = "h" * 70_000  # 64-bit length
    first, rest = rpc("4", "fragmented"), b""
    first, rest = first[:10], first[10:]
    data = b"".join(
        [
            frame(Opcode.TEXT, rpc("1", "short")),
            frame(Opcode.PING, b"p1"),
            frame(Opcode.TEXT, rpc("2", big)),
            frame(Opcode.TEXT, rpc("3", huge)),
            frame(Opcode.TEXT, first, fin=False),
            frame(Opcode.PING, b"p2"),  # a control frame between fragments
            frame(Opcode.CONT, rest[:5], fin=False),
            frame(Opcode.CONT, rest[5:], fin=True),
            frame(Opcode.PONG, b""),
            frame(Opcode.TEXT, rpc("5", "after")),
        ]
    )
    return data, ["short", big, huge, "fragmented", "after"]


async def expect_echoes(client, payloads: list[str]) -> None:
    for i, payload in enumerate(payloads, 1):
        reply = await client.recv()
        assert reply == {"cid": str(i), "rpc": {"id": "echo", "payload": payload}}


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 1000, 0])
async def test_frames_cut_anywhere_give_the_same_messages(app, chunk):
    client = await connect(app)
    data, payloads = stream()
    pongs = []
    handler = client.protocol.events_received

    def events():  # collect the pongs the server sent back
        out = handler()
        pongs.extend(e.data for e in out if isinstance(e, Frame) and e.opcode is Opcode.PONG)
        return out

    client.protocol.events_received = events  # type: ignore[method-assign]
    if chunk == 0:
        client.transport.write(data)  # everything in one write
    else:
        for i in range(0, len(data), chunk):
            client.transport.write(data[i:i + chunk])
            if i % (chunk * 64) == 0:
                await asyncio.sleep(0)  # let some pieces arrive on their own
    await expect_echoes(client, payloads)
    assert pongs == [b"p1", b"p2"]
    await client.close()


@pytest.mark.parametrize(
    "bad, code",
    [
        (Frame(Opcode.TEXT, b'{"ping":{}}').serialize(mask=False), CloseCode.PROTOCOL_ERROR),  # unmasked
        (frame(Opcode.TEXT, b'{"ping":{}}', rsv1=True), CloseCode.PROTOCOL_ERROR),  # RSV bit, no extension
        (frame(Opcode.CONT, b'{"ping":{}}'), CloseCode.PROTOCOL_ERROR),  # continuation without a start
        (bytes([0x83, 0x80]) + b"\0\0\0\0", CloseCode.PROTOCOL_ERROR),  # reserved opcode
        (frame(Opcode.TEXT, b"a", fin=False) + frame(Opcode.TEXT, b"b"), CloseCode.PROTOCOL_ERROR),  # text inside a fragmented message
        (bytes([0x81, 0xFF]) + (200_000).to_bytes(8, "big"), CloseCode.MESSAGE_TOO_BIG),  # header alone is enough
    ],
)
async def test_invalid_frames_fail_the_connection(app, bad, code):
    client = await connect(app)
    assert (await client.request({"cid": "1", "ping": {}})) == {"cid": "1", "pong": {}}
    client.transport.write(bad)
    closed_code, _ = await client.wait_closed()
    assert closed_code == code
    assert client.messages.empty()
    assert len(app.services.sessions) == 0


async def test_fragments_over_max_size_close_1009(start_server):
    app = await start_server(MODULES, socket__max_message_size_bytes=256)
    client = await connect(app)
    client.transport.write(frame(Opcode.TEXT, b"x" * 200, fin=False) + frame(Opcode.CONT, b"x" * 100))
    code, _ = await client.wait_closed()
    assert code == CloseCode.MESSAGE_TOO_BIG
    assert client.messages.empty()


async def test_eof_inside_a_frame_ends_the_session(app):
    client = await connect(app)
    data = frame(Opcode.TEXT, rpc("1", "cut"))
    client.transport.write(data[: len(data) // 2])
    client.transport.write_eof()
    await client.wait_closed()
    for _ in range(100):
        if len(app.services.sessions) == 0:
            break
        await asyncio.sleep(0.01)
    assert len(app.services.sessions) == 0
    assert client.messages.empty()
