"""Outgoing HTTP/1.1 for nk.http_request: asyncio streams on the loop, httptools' parser.

One connection per request (``Connection: close``); redirects are followed as Go's
``http.Client`` (Nakama's) follows them: at most 10; 301/302/303 continue with GET (HEAD
stays HEAD) and without the body, 307/308 keep the method and the body; ``Authorization``
and cookies are dropped when the redirect leaves the original host and its subdomains.
Every hop must pass the ``HttpPolicy`` host list. The whole exchange, redirects included,
runs under one timeout, and a response may carry at most ``max_response_bytes`` of body
and ``max_header_bytes`` of status line and headers.

Errors read like Go's, because Nakama hands Go's error text to Lua: a ``RequestError``
(before the response headers) is ``Get "http://x/": <reason>``; a ``BodyError`` (while
reading the body) is the bare reason.
"""

from __future__ import annotations

import asyncio
import base64
import re
import socket
import ssl
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urljoin, urlsplit

import httptools

__all__ = ["HttpPolicy", "HttpRequest", "HttpResponse", "RequestError", "BodyError", "fetch"]

MAX_REDIRECTS = 10
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SENSITIVE = (b"authorization", b"www-authenticate", b"cookie", b"cookie2")
_OWN = frozenset({b"host", b"content-length", b"connection", b"transfer-encoding"})
_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


class RequestError(Exception):
    """The request failed before a response arrived (Go: the error of Client.Do)."""


class BodyError(Exception):
    """The response body could not be read (Go: the error of io.ReadAll)."""


@dataclass(slots=True, frozen=True)
class HttpPolicy:
    """Where nk.http_request may go and how much it may read (runtime.http_request_*)."""

    hosts: tuple[str, ...] = ()  # "api.example.com", "*.example.com", "10.0.0.7"; empty: any host
    max_response_bytes: int = 8 << 20
    max_header_bytes: int = 64 << 10

    def allows(self, host: str) -> bool:
        if not self.hosts:
            return True
        host = host.lower().rstrip(".")
        for pattern in self.hosts:
            pattern = pattern.lower().strip("[]").rstrip(".")
            if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
                return True
        return False


@dataclass(slots=True, frozen=True)
class HttpRequest:
    method: str  # upper case
    url: str
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""
    insecure: bool = False  # skip TLS certificate checks
    timeout: float = 5.0  # seconds, for the whole exchange


@dataclass(slots=True)
class HttpResponse:
    status: int = 0
    headers: dict[str, bytes] = field(default_factory=dict)  # canonical name -> first value, as Nakama
    body: bytes = b""


@dataclass(slots=True, frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    host_header: str
    path: str
    auth: bytes | None


def _go_op(method: str) -> str:
    return method[:1] + method[1:].lower()


def canonical_header(name: str) -> str:
    """Go's CanonicalMIMEHeaderKey: "content-type" -> "Content-Type" (names with other than
    token characters are left as they are)."""
    if not _TOKEN.match(name.encode("latin-1", "replace")):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _target(url: str) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RequestError(f'parse "{url}": {exc}') from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise RequestError(f'unsupported protocol scheme "{scheme}"')
    if not parts.hostname:
        raise RequestError("http: no Host in request URL")
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    auth = None
    if parts.username is not None:
        auth = base64.b64encode(f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode())
    host_header = parts.netloc.rsplit("@", 1)[-1]
    if not host_header.isascii():  # an international name goes out as punycode
        host_header = parts.hostname.encode("idna").decode() + (f":{port}" if port else "")
    return _Target(scheme, parts.hostname, port or (443 if scheme == "https" else 80), host_header, path, auth)


_CONTEXTS: dict[bool, ssl.SSLContext] = {}


def _tls(insecure: bool) -> ssl.SSLContext:
    context = _CONTEXTS.get(insecure)
    if context is None:
        context = ssl.create_default_context()
        if insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        _CONTEXTS[insecure] = context
    return context


def _request_bytes(request: HttpRequest, target: _Target) -> bytes:
    headers, body = request.headers, request.body
    lines = [f"{request.method} {target.path} HTTP/1.1".encode(), b"Host: " + target.host_header.encode()]
    names = {name.lower() for name, _ in headers}
    for name, value in headers:
        if not _TOKEN.match(name):
            raise RequestError(f'net/http: invalid header field name "{name.decode("latin-1")}"')
        if _BAD_VALUE.search(value):
            raise RequestError(f'net/http: invalid header field value for "{name.decode("latin-1")}"')
        if name.lower() not in _OWN:
            lines.append(name + b": " + value)
    if b"user-agent" not in names:
        lines.append(b"User-Agent: nkhost-http-client/1.1")
    if target.auth is not None and b"authorization" not in names:
        lines.append(b"Authorization: Basic " + target.auth)
    if body or request.method in ("POST", "PUT", "PATCH"):
        lines.append(b"Content-Length: %d" % len(body))
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class _Reading:
    """httptools callbacks for one response; ``headers_done`` marks where Go's Do returns."""

    def __init__(self, policy: HttpPolicy, head: bool = False) -> None:
        self.policy = policy
        self.head = head  # a response to HEAD has no body, whatever its headers say
        self.response = HttpResponse()
        self.parser = httptools.HttpResponseParser(self)
        self.headers_done = False
        self.complete = False
        self.until_eof = False
        self.error: BodyError | None = None  # raised in a callback (httptools wraps it)
        self._body = bytearray()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.response.headers.setdefault(canonical_header(name.decode("latin-1")), value)

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # an interim response: the real one follows
            self.response.headers.clear()
            return
        self.response.status = status
        self.headers_done = True
        if self.head:
            self.complete = True
            return
        headers = self.response.headers
        length = headers.get("Content-Length")
        if length is not None and length.strip().isdigit() and int(length) > self.policy.max_response_bytes:
            self._too_large()
        chunked = b"chunked" in headers.get("Transfer-Encoding", b"").lower()
        self.until_eof = length is None and not chunked and status not in (204, 304)

    def on_body(self, data: bytes) -> None:
        if self.head:
            return
        if len(self._body) + len(data) > self.policy.max_response_bytes:
            self._too_large()
        self._body += data

    def on_message_complete(self) -> None:
        if self.headers_done:
            self.complete = True

    def _too_large(self) -> None:
        limit = self.policy.max_response_bytes
        self.error = BodyError(f"response body is over the {limit} byte limit (runtime.http_request_max_response_bytes)")
        raise self.error

    def finish(self) -> HttpResponse:
        self.response.body = bytes(self._body)
        return self.response


async def _read(reader: asyncio.StreamReader, state: _Reading) -> HttpResponse:
    header_bytes = 0
    while not state.complete:
        data = await reader.read(65536)
        if not data:
            if state.headers_done and state.until_eof:
                break
            if state.headers_done:
                raise BodyError("unexpected EOF")
            raise RequestError("EOF")
        if not state.headers_done:
            header_bytes += len(data)
        try:
            state.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if state.error is not None:
                raise state.error from None
            if state.headers_done:
                raise BodyError(f"malformed response body: {exc}") from None
            raise RequestError(f"malformed HTTP response: {exc}") from None
        if not state.headers_done and header_bytes > state.policy.max_header_bytes:
            raise RequestError(f"net/http: server response headers exceeded {state.policy.max_header_bytes} bytes; aborted")
    return state.finish()


async def _connect(target: _Target, insecure: bool) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    tls = _tls(insecure) if target.scheme == "https" else None
    address = f"{target.host}:{target.port}" if ":" not in target.host else f"[{target.host}]:{target.port}"
    try:
        return await asyncio.open_connection(target.host, target.port, ssl=tls, server_hostname=target.host if tls else None)
    except ssl.SSLCertVerificationError as exc:
        raise RequestError(f"tls: failed to verify certificate: {exc.verify_message or exc.reason}") from None
    except ssl.SSLError as exc:
        raise RequestError(f"tls: {exc.reason or exc}") from None
    except socket.gaierror:
        raise RequestError(f"dial tcp: lookup {target.host}: no such host") from None
    except ConnectionRefusedError:
        raise RequestError(f"dial tcp {address}: connect: connection refused") from None
    except OSError as exc:
        raise RequestError(f"dial tcp {address}: {(exc.strerror or str(exc)).lower()}") from None


async def _exchange(request: HttpRequest, target: _Target, state: _Reading) -> HttpResponse:
    """One request on its own connection; the response read into ``state``."""
    payload = _request_bytes(request, target)
    reader, writer = await _connect(target, request.insecure)
    try:
        writer.write(payload)
        await writer.drain()
        return await _read(reader, state)
    except (ConnectionError, ssl.SSLError) as exc:
        reason = (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).lower()
        if state.headers_done:
            raise BodyError(reason) from None
        raise RequestError(reason) from None
    finally:
        writer.transport.abort()


def _same_site(original: str, host: str) -> bool:
    """Go's shouldCopyHeaderOnRedirect: the same host or one of its subdomains."""
    return host == original or host.endswith("." + original)


async def fetch(request: HttpRequest, policy: HttpPolicy) -> HttpResponse:
    """Send ``request`` and read the response, following redirects; raises RequestError or
    BodyError with Go's wording (the caller adds Nakama's prefixes)."""
    method, url, headers, body = request.method, request.url, request.headers, request.body
    first_host: str | None = None
    state: _Reading | None = None
    try:
        async with asyncio.timeout(request.timeout):
            for hop in range(MAX_REDIRECTS + 1):
                try:
                    target = _target(url)
                except RequestError as exc:
                    raise RequestError(f'{_go_op(method)} "{url}": {exc}') from None
                if first_host is None:
                    first_host = target.host.lower()
                elif not _same_site(first_host, target.host.lower()):
                    headers = tuple((n, v) for n, v in headers if n.lower() not in _SENSITIVE)
                if not policy.allows(target.host):
                    raise RequestError(f'{_go_op(method)} "{url}": host {target.host!r} is not in runtime.http_request_hosts')
                state = _Reading(policy, method == "HEAD")
                try:
                    response = await _exchange(HttpRequest(method, url, headers, body, request.insecure), target, state)
                except RequestError as exc:
                    raise RequestError(f'{_go_op(method)} "{url}": {exc}') from None
                location = response.headers.get("Location")
                if response.status not in _REDIRECTS or location is None:
                    return response
                if hop == MAX_REDIRECTS:
                    raise RequestError(f'{_go_op(method)} "{url}": stopped after {MAX_REDIRECTS} redirects')
                if response.status in (301, 302, 303):
                    body = b""
                    if method not in ("GET", "HEAD"):
                        method = "GET"
                url = urljoin(url, location.decode("latin-1"))
    except TimeoutError:
        if state is not None and state.headers_done:
            raise BodyError("context deadline exceeded") from None
        raise RequestError(f'{_go_op(method)} "{url}": context deadline exceeded') from None
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
