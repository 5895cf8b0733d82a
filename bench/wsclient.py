"""A minimal, fast WebSocket client protocol for load generation (not for production).

Raw asyncio.Protocol: hand-written upgrade, zero-key masked frames out, unmasked
frames in. It answers server pings and hands each text message to a callback.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable


def text_frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    return header + b"\x00\x00\x00\x00" + payload  # zero mask key: payload unchanged


def control_frame(opcode: int, payload: bytes = b"") -> bytes:
    return struct.pack("!BB", 0x80 | opcode, 0x80 | len(payload)) + b"\x00\x00\x00\x00" + payload


class WsClient(asyncio.Protocol):
    def __init__(self, path: str, on_message: Callable[[bytes], None], host: str = "127.0.0.1") -> None:
        self.path = path
        self.host = host
        self.on_message = on_message
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.upgraded = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.close_code: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(  # type: ignore[attr-defined]
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded.done():
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[:end]).split(b"\r\n", 1)[0]
            del buf[: end + 4]
            if b" 101 " not in status + b" ":
                self.upgraded.set_exception(ConnectionError(status.decode(errors="replace")))
                self.transport.close()
                return
            self.upgraded.set_result(None)
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            n = b1 & 0x7F
            head = 2
            if n == 126:
                if size - pos < 4:
                    break
                n = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
            elif n == 127:
                if size - pos < 10:
                    break
                n = struct.unpack_from("!Q", buf, pos + 2)[0]
                head = 10
            if size - pos < head + n:
                break
            payload = bytes(buf[pos + head : pos + head + n])
            pos += head + n
            opcode = b0 & 0x0F
            if opcode == 1 or opcode == 2 or opcode == 0:
                self.on_message(payload)
            elif opcode == 9:
                self.transport.write(control_frame(10, payload))
            elif opcode == 8:
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.transport.close()
        del buf[:pos]

    def send_text(self, payload: bytes) -> None:
        self.transport.write(text_frame(payload))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError("closed before upgrade"))
        if not self.closed.done():
            self.closed.set_result(self.close_code)


async def connect(port: int, path: str, on_message: Callable[[bytes], None]) -> WsClient:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(lambda: WsClient(path, on_message), "127.0.0.1", port)
    await proto.upgraded
    return proto
