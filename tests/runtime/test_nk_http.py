"""nk.http_request against a real HTTP server on loopback, through real Lua calls."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket

import pytest

from host.net.http_client import HttpPolicy, canonical_header
from host.runtime import CallContext
from tests.runtime.helpers import call, rpc_vm
from tests.runtime.http_server import LoopbackServer, self_signed_context

MODULE = """
    local nk = require("nakama")
    nk.register_rpc(function(ctx, payload)
      local a = nk.json_decode(payload)
      local ok, code, headers, body = pcall(nk.http_request, a.url, a.method or "get", a.headers or {}, a.body, a.timeout, a.insecure)
      if not ok then return nk.json_encode({ error = code }) end
      return nk.json_encode({ code = code, headers = headers, body = a.digest and nk.sha256_hash(body) or body, size = #body })
    end, "http")
    nk.register_rpc(function() return "pong" end, "ping")
"""


SLOW_OK = 10_000  # a call's deadline where the test is not about deadlines: a loaded machine is slow


async def _http(runtime, **args) -> dict:
    return json.loads(await runtime.call_rpc("http", CallContext(), json.dumps(args)))


@pytest.fixture
async def server():
    async with LoopbackServer() as srv:
        yield srv


async def test_get_returns_code_headers_and_body(tmp_path, runtimes, server):
    runtime = await runtimes(tmp_path, {"m.lua": MODULE}, lua_call_timeout_ms=SLOW_OK)
    out = await _http(runtime, url=server.base + "/echo?x=1", headers={"X-Test": "yes", "Accept": "text/plain"})
    assert out["code"] == 200
    # Go's canonical names, the first value of a repeated header (as Nakama)
    assert out["headers"]["Content-Type"] == "application/json"
    assert out["headers"]["X-Lower-Case"] == "1"
    assert out["headers"]["X-Multi"] == "a"
    echo = json.loads(out["body"])
    assert echo["method"] == "GET" and echo["path"] == "/echo?x=1" and echo["body"] == ""
    assert echo["headers"]["x-test"] == "yes" and echo["headers"]["accept"] == "text/plain"
    assert echo["headers"]["host"] == f"127.0.0.1:{server.port}"


async def test_post_sends_the_body_and_the_method_is_case_insensitive(tmp_path, runtimes, server):
    runtime = await runtimes(tmp_path, {"m.lua": MODULE}, lua_call_timeout_ms=SLOW_OK)
    out = await _http(runtime, url=server.base + "/echo", method="post", body='{"a": 1}', headers={"Content-Type": "application/json"})
    echo = json.loads(out["body"])
    assert (echo["method"], echo["body"], echo["headers"]["content-length"]) == ("POST", '{"a": 1}', "8")


async def test_status_codes_are_returned_not_raised(tmp_path, runtimes, server):
    runtime = await runtimes(tmp_path, {"m.lua": MODULE}, lua_call_timeout_ms=SLOW_OK)
    out = await _http(runtime, url=server.base + "/status?code=404")
    assert (out["code"], out["body"]) == (404, "status body")


async def test_head_ignores_any_body_and_a_body_can_end_with_the_connection(tmp_path, runtimes, server):
    runtime = await runtimes(tmp_path, {"m.lua": MODULE}, lua_call_timeout_ms=SLOW_OK)
    head = await _http(runtime, url=server.base + "/bytes?n=100", method="head")
    assert (head["code"], head["size"], head["headers"]["Content-Length"]) == (200, 0, "100")
    eof = await _http(runtime, url=server.base + "/eof")
    assert eof["body"] == "until the end"


@pytest.mark.parametrize("chunked", [False, True])
async def test_big_bodies_arrive_whole(tmp_path, runtimes, server, chunked):
    runtime = await runtimes(tmp_path, {"m.lua": MODULE}, lua_call_timeout_ms=5000)
    n = 3 << 20
    out = await _http(runtime, url=server.base + f"/bytes?n={n}{'&chunked=1' if chunked else ''}", digest=True)
    assert out["size"] == n
    assert out["body"] == hashlib.sha256(bytes(i % 251 for i in range(n))).hexdigest()


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_over_the_cap_is_refused(tmp_path, runtimes, server, chunked):
    runtime = await runtimes(tmp_path, {"m.lua": MODULE}, lua_call_timeout_ms=SLOW_OK, http_request_max_response_bytes=1 << 20)
    out = await _http(runtime, url=server.base + f"/bytes?n={(1 << 20) + 1}{'&chunked=1' if chunked else ''}")
    assert out["error"] == "HTTP response body error: response body is over the 1048576 byte limit (runtime.http_request_max_response_bytes)"
    ok = await _http(runtime, url=server.base + f"/bytes?n={1 << 20}", digest=True)
    assert ok.get("size") == 1 << 20, ok


async def test_huge_response_headers_are_refused(tmp_path, runtimes, server):
    runtime = await runtimes(tmp_path, {"m.lua": MODULE}, lua_call_timeout_ms=SLOW_OK)
    out = await _http(runtime, url=server.base + "/huge-headers")
    assert out["error"] == f'HTTP request error: Get "{server.base}/huge-headers": net/http: server response headers exceeded 65536 bytes; aborted'


async def test_the_timeout_ends_a_request_that_gets_no_answer(tmp_path, runtimes, server):
    runtime = await runtimes(tmp_path, {"m.lua": MODULE}, lua_call_timeout_ms=SLOW_OK)
    out = await _http(runtime, url=server.base + "/hang", timeout=100)
    assert out["error"] == f'HTTP request error: Get "{server.base}/hang": context deadline exceeded'
    slow = await _http(runtime, url=server.base + "/slow-body", timeout=100)
    assert slow["error"] == "HTTP response body error: context deadline exceeded"


async def test_the_calls_deadline_bounds_a_longer_timeout(tmp_path, runtimes, server):
    # timeout_ms is a minute but the Lua call has 1.5 s: the request gives up in time for the
    # script to handle the error (were it not bounded, the call itself would be aborted)
    runtime = await runtimes(tmp_path, {"m.lua": MODULE}, lua_call_timeout_ms=1500)
    out = await _http(runtime, url=server.base + "/hang", timeout=60000)
    assert out["error"] == f'HTTP request error: Get "{server.base}/hang": context deadline exceeded'


async def test_the_worker_waits_while_the_loop_and_other_workers_serve(tmp_path, runtimes, server):
    runtime = await runtimes(tmp_path, {"m.lua": MODULE}, lua_call_timeout_ms=10000)
    pending = asyncio.ensure_future(_http(runtime, url=server.base + "/hang"))
    await asyncio.wait_for(server.hung.wait(), 10)  # the request is in flight, its worker blocked
    assert await runtime.call_rpc("ping", CallContext(), "") == "pong"
    server.release.set()
    assert (await pending)["body"] == "released"


async def test_refused_connections_and_unknown_schemes(tmp_path, runtimes):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    runtime = await runtimes(tmp_path, {"m.lua": MODULE}, lua_call_timeout_ms=SLOW_OK)
    out = await _http(runtime, url=f"http://127.0.0.1:{closed}/x")
    assert out["error"] == f'HTTP request error: Get "http://127.0.0.1:{closed}/x": dial tcp 127.0.0.1:{closed}: connect: connection refused'
    out = await _http(runtime, url="ftp://127.0.0.1/x", method="put")
    assert out["error"] == 'HTTP request error: Put "ftp://127.0.0.1/x": unsupported protocol scheme "ftp"'
    out = await _http(runtime, url="http:///nohost")
    assert out["error"] == 'HTTP request error: Get "http:///nohost": http: no Host in request URL'


async def test_hosts_outside_the_list_are_refused_also_through_a_redirect(tmp_path, runtimes, server):
    runtime = await runtimes(tmp_path, {"m.lua": MODULE}, lua_call_timeout_ms=SLOW_OK, http_request_hosts=["127.0.0.1"])
    ok = await _http(runtime, url=server.base + "/echo")
    assert ok["code"] == 200
    via = f"http://localhost:{server.port}/echo"
    out = await _http(runtime, url=server.base + "/redirect?to=" + via)
    assert out["error"] == f"HTTP request error: Get \"{via}\": host 'localhost' is not in runtime.http_request_hosts"
    assert [r["path"] for r in server.requests] == ["/echo", "/redirect?to=" + via]  # localhost never reached


async def test_redirects_follow_gos_rules(tmp_path, runtimes, server):
    runtime = await runtimes(tmp_path, {"m.lua": MODULE}, lua_call_timeout_ms=SLOW_OK)
    see_other = await _http(runtime, url=server.base + "/redirect?code=303&to=/echo", method="post", body="data")
    echo = json.loads(see_other["body"])
    assert (see_other["code"], echo["method"], echo["body"]) == (200, "GET", "")
    temporary = await _http(runtime, url=server.base + "/redirect?code=307&to=/echo", method="put", body="data")
    echo = json.loads(temporary["body"])
    assert (echo["method"], echo["body"]) == ("PUT", "data")
    endless = await _http(runtime, url=server.base + "/loop")
    assert endless["error"] == f'HTTP request error: Get "{server.base}/loop": stopped after 10 redirects'


async def test_credentials_are_not_sent_to_another_host_on_redirect(tmp_path, runtimes, server):
    runtime = await runtimes(tmp_path, {"m.lua": MODULE}, lua_call_timeout_ms=SLOW_OK)
    other = f"http://localhost:{server.port}/echo"
    out = await _http(runtime, url=server.base + "/redirect?to=" + other, headers={"Authorization": "Bearer secret", "X-Keep": "1"})
    echo = json.loads(out["body"])
    assert "authorization" not in echo["headers"] and echo["headers"]["x-keep"] == "1"


async def test_tls_verifies_certificates_unless_insecure(tmp_path, runtimes):
    async with LoopbackServer(self_signed_context(tmp_path)) as tls_server:
        runtime = await runtimes(tmp_path / "modules", {"m.lua": MODULE}, lua_call_timeout_ms=SLOW_OK)
        out = await _http(runtime, url=tls_server.base + "/echo")
        assert out["error"].startswith(f'HTTP request error: Get "{tls_server.base}/echo": tls: failed to verify certificate: ')
        ok = await _http(runtime, url=tls_server.base + "/echo", insecure=True)
        assert ok["code"] == 200 and json.loads(ok["body"])["path"] == "/echo"


@pytest.mark.parametrize(("args", "error"), [
    ("", "bad argument #1 to http_request (string expected, got nil)"),
    ("'', 'get', {}", "bad argument #1 to http_request (expects URL string)"),
    ("'http://x', nil, {}", "bad argument #2 to http_request (string expected, got nil)"),
    ("'http://x', 'fetch', {}", "bad argument #2 to http_request (expects method to be one of: 'get', 'post', 'put', 'patch', 'delete', 'head')"),
    ("'http://x', 'get'", "bad argument #3 to http_request (table expected, got nil)"),
    ("'http://x', 'get', {a = 1}", "HTTP header values must be strings"),
    ("'http://x', 'get', {a = {}}", "HTTP header values must be strings"),
    ("'http://x', 'get', {}, 5", "bad argument #4 to http_request (string expected, got number)"),
    ("'http://x', 'get', {}, nil, 'soon'", "bad argument #5 to http_request (number expected, got string)"),
    ("'http://x', 'get', {}, nil, nil, 'no'", "bad argument #6 to http_request (boolean expected, got string)"),
])
def test_argument_errors(tmp_path, args, error):
    vm = rpc_vm(tmp_path, f"local ok, e = pcall(function() nk.http_request({args}) end) return e")
    assert call(vm) == f"m.lua:4: {error}"


async def test_header_checks_happen_before_anything_is_sent(tmp_path, runtimes, server):
    runtime = await runtimes(tmp_path, {"m.lua": MODULE}, lua_call_timeout_ms=SLOW_OK)
    out = await _http(runtime, url=server.base + "/echo", headers={"X": "a\r\nInjected: 1"})
    assert out["error"] == f'HTTP request error: Get "{server.base}/echo": net/http: invalid header field value for "X"'
    out = await _http(runtime, url=server.base + "/echo", headers={"Bad Name": "v"})
    assert out["error"] == f'HTTP request error: Get "{server.base}/echo": net/http: invalid header field name "Bad Name"'
    assert server.requests == []


def test_host_list_matching():
    policy = HttpPolicy(("api.example.com", "*.cdn.example.org", "10.0.0.7", "[::1]"))
    assert policy.allows("api.example.com") and policy.allows("API.Example.com.")
    assert policy.allows("a.cdn.example.org") and policy.allows("x.y.cdn.example.org")
    assert not policy.allows("cdn.example.org") and not policy.allows("evil-api.example.com")
    assert policy.allows("10.0.0.7") and policy.allows("::1") and not policy.allows("10.0.0.8")
    assert HttpPolicy().allows("anything.at.all")


def test_canonical_header_names():
    assert canonical_header("content-type") == "Content-Type"
    assert canonical_header("X-MULTI-value") == "X-Multi-Value"
    assert canonical_header("bad name") == "bad name"


def test_without_a_server_the_call_fails_clearly(tmp_path):
    vm = rpc_vm(tmp_path, "local ok, e = pcall(function() nk.http_request('http://127.0.0.1/', 'get', {}) end) return e")
    assert call(vm) == "m.lua:4: http_request: not available while checking modules (no server)"
