"""Raw HTTP/1.1 for the tests: exact status lines, headers and bodies, keep-alive under control."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field

import orjson

from tests.conftest import WAIT


@dataclass
class HttpReply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # lowercase names
    body: bytes = b""

    def json(self) -> object:
        return orjson.loads(self.body)


async def read_reply(reader: asyncio.StreamReader) -> HttpReply:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await asyncio.wait_for(reader.readexactly(length), WAIT) if length else b""
    return HttpReply(status, headers, body)


def build_request(method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def http(port: int, method: str, target: str, body: bytes | str = b"", headers: dict[str, str] | None = None) -> HttpReply:
    """One request on a fresh connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(build_request(method, target, body.encode() if isinstance(body, str) else body, headers))
        return await read_reply(reader)
    finally:
        writer.close()


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def assert_serving(app: object) -> None:
    """A bystander is served: a fresh HTTP connection gets its answer and a fresh socket its pong."""
    from tests.conftest import connect

    assert (await http(app.port, "GET", "/healthcheck")).status == 200  # type: ignore[attr-defined]
    client = await connect(app)  # type: ignore[arg-type]
    try:
        assert await client.request({"cid": "1", "ping": {}}) == {"cid": "1", "pong": {}}
    finally:
        await client.close()
