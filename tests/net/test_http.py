"""HTTP on the realtime port: health, routing, CORS, keep-alive, limits, malformed input."""

from __future__ import annotations

import asyncio

from tests.conftest import WAIT
from tests.net.helpers import build_request, http, read_reply


async def test_healthcheck_and_root(start_server):
    app = await start_server()
    reply = await http(app.port, "GET", "/healthcheck")
    assert (reply.status, reply.json()) == (200, {})
    assert reply.headers["content-type"] == "application/json"
    root = await http(app.port, "GET", "/")
    assert (root.status, root.body) == (200, b"")


async def test_unknown_path_and_wrong_method(start_server):
    app = await start_server()
    missing = await http(app.port, "GET", "/v2/nothing")
    assert (missing.status, missing.json()) == (404, {"code": 5, "message": "Not Found"})
    wrong = await http(app.port, "DELETE", "/healthcheck")
    assert (wrong.status, wrong.json()) == (405, {"code": 12, "message": "Method Not Allowed"})


async def test_keep_alive_answers_pipelined_requests_in_order(start_server):
    app = await start_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", app.port)
    writer.write(build_request("GET", "/healthcheck") + build_request("GET", "/nope") + build_request("GET", "/"))
    statuses = [(await read_reply(reader)).status for _ in range(3)]
    assert statuses == [200, 404, 200]
    writer.write(build_request("GET", "/healthcheck"))  # the connection is still usable
    assert (await read_reply(reader)).status == 200
    writer.close()


async def test_malformed_http_gets_400_and_close(start_server):
    app = await start_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", app.port)
    writer.write(b"NOT-HTTP \x00\x01\r\n\r\n")
    reply = await read_reply(reader)
    assert reply.status == 400
    assert await asyncio.wait_for(reader.read(), WAIT) == b""  # closed
    writer.close()


async def test_body_over_limit_is_400_and_closes(start_server):
    app = await start_server(socket__max_request_size_bytes=64)
    reader, writer = await asyncio.open_connection("127.0.0.1", app.port)
    writer.write(build_request("POST", "/v2/account/authenticate/device", b"x" * 65))
    reply = await read_reply(reader)
    assert (reply.status, reply.json()) == (400, {"code": 3, "message": "http: request body too large"})
    assert reply.headers["connection"] == "close"
    assert await asyncio.wait_for(reader.read(), WAIT) == b""
    writer.close()


async def test_cors_preflight_as_gorilla(start_server):
    app = await start_server()
    origin = {"Origin": "https://game.example"}
    ok = await http(app.port, "OPTIONS", "/v2/rpc/x", headers={
        **origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type",
    })
    assert ok.status == 200
    assert ok.headers["access-control-allow-origin"] == "*"
    assert ok.headers["access-control-allow-headers"] == "Authorization,Content-Type"
    assert "access-control-allow-methods" not in ok.headers  # POST is a simple method
    put = await http(app.port, "OPTIONS", "/v2/rpc/x", headers={**origin, "Access-Control-Request-Method": "PUT"})
    assert (put.status, put.headers["access-control-allow-methods"]) == (200, "PUT")
    patch = await http(app.port, "OPTIONS", "/v2/rpc/x", headers={**origin, "Access-Control-Request-Method": "PATCH"})
    assert patch.status == 405
    header = await http(app.port, "OPTIONS", "/v2/rpc/x", headers={
        **origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "X-Secret",
    })
    assert header.status == 403
    no_method = await http(app.port, "OPTIONS", "/v2/rpc/x", headers=origin)
    assert no_method.status == 400


async def test_cors_header_on_responses_with_an_origin_only(start_server):
    app = await start_server()
    with_origin = await http(app.port, "GET", "/healthcheck", headers={"Origin": "http://localhost:8080"})
    assert with_origin.headers["access-control-allow-origin"] == "*"
    error = await http(app.port, "GET", "/missing", headers={"Origin": "http://localhost:8080"})
    assert error.headers["access-control-allow-origin"] == "*"
    without = await http(app.port, "GET", "/healthcheck")
    assert "access-control-allow-origin" not in without.headers


async def test_head_has_no_body(start_server):
    app = await start_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", app.port)
    writer.write(build_request("HEAD", "/healthcheck") + build_request("GET", "/healthcheck"))
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 2" in head
    follow = await read_reply(reader)  # the next bytes are the second response, not a body
    assert (follow.status, follow.body) == (200, b"{}")
    writer.close()


def test_client_address_follows_go_split_host_port():
    from host.net.http import client_address

    peer = ("127.0.0.1", "5000")
    assert client_address({}, peer) == peer
    assert client_address({"x-forwarded-for": ""}, peer) == peer
    assert client_address({"x-forwarded-for": "1.2.3.4"}, peer) == ("1.2.3.4", "")
    assert client_address({"x-forwarded-for": "1.2.3.4:99, 5.6.7.8"}, peer) == ("1.2.3.4", "99")
    assert client_address({"x-forwarded-for": "::1"}, peer) == ("::1", "")  # too many colons: the whole text
    assert client_address({"x-forwarded-for": "[::1]:80"}, peer) == ("::1", "80")
    assert client_address({"x-forwarded-for": "[::1]"}, peer) == ("[::1]", "")  # missing port: kept whole
    assert client_address({"x-forwarded-for": "[::1]x"}, peer) == ("[::1]x", "")  # missing port too
    assert client_address({"x-forwarded-for": "[::1]:80:90"}, peer) == ("[::1]:80:90", "")  # too many colons
    assert client_address({"x-forwarded-for": "[::1"}, peer) == ("", "")  # other errors: no address
    assert client_address({"x-forwarded-for": "a]b:1"}, peer) == ("", "")
    assert client_address({"cf-connecting-ip": "9.9.9.9", "x-forwarded-for": "1.2.3.4"}, peer) == ("9.9.9.9", "")
