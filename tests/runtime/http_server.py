"""A small HTTP/1.1 server on loopback for nk.http_request tests: one request per connection.

Paths: ``/echo`` (the request as JSON), ``/bytes?n=N[&chunked=1]``, ``/eof`` (a body ended by
closing), ``/status?code=N``, ``/redirect?code=N&to=URL``, ``/loop`` (redirects to itself),
``/hang`` (answers only when ``release`` is set), ``/slow-body`` (headers, then waits for
``release``), ``/huge-headers``. ``requests`` records every request; ``hung`` is set once a
``/hang`` request arrived.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import ssl
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

__all__ = ["LoopbackServer", "self_signed_context"]


class LoopbackServer:
    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._tls = tls
        self._server: asyncio.Server | None = None
        self.port = 0
        self.requests: list[dict] = []
        self.release = asyncio.Event()
        self.hung = asyncio.Event()

    @property
    def base(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    async def __aenter__(self) -> LoopbackServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.release.set()
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            line, *fields = head.split("\r\n")
            method, target, _ = line.split(" ", 2)
            headers: dict[str, str] = {}
            for f in fields:
                if f:
                    name, value = f.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            request = {"method": method, "path": target, "headers": headers, "body": body.decode("latin-1")}
            self.requests.append(request)
            await self._answer(request, writer)
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.transport.abort()

    async def _answer(self, request: dict, writer: asyncio.StreamWriter) -> None:
        url = urlsplit(request["path"])
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path
        if path == "/echo":
            body = json.dumps(request).encode()
            writer.write(_response(200, [("Content-Type", "application/json"), ("x-lower-case", "1"), ("X-Multi", "a"), ("X-Multi", "b")], body))
        elif path == "/bytes":
            n = int(query["n"])
            data = bytes(i % 251 for i in range(n))
            if query.get("chunked"):
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                for i in range(0, n, 65536):
                    part = data[i:i + 65536]
                    writer.write(b"%x\r\n" % len(part) + part + b"\r\n")
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
            else:
                writer.write(_response(200, [], data))  # a body for HEAD too: the client must ignore it
        elif path == "/eof":
            writer.write(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
        elif path == "/status":
            writer.write(_response(int(query["code"]), [], b"status body"))
        elif path == "/redirect":
            writer.write(_response(int(query.get("code", "302")), [("Location", query["to"])], b""))
        elif path == "/loop":
            writer.write(_response(302, [("Location", "/loop")], b""))
        elif path == "/hang":
            self.hung.set()
            await self.release.wait()
            writer.write(_response(200, [], b"released"))
        elif path == "/slow-body":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            await writer.drain()
            await self.release.wait()
        elif path == "/huge-headers":
            writer.write(b"HTTP/1.1 200 OK\r\nX-Big: " + b"x" * (128 << 10) + b"\r\nContent-Length: 0\r\n\r\n")
        else:
            writer.write(_response(404, [], b"not found"))
        await writer.drain()


def _response(status: int, headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} X", *(f"{k}: {v}" for k, v in headers), f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode() + body


def self_signed_context(directory: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nkhost test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context
