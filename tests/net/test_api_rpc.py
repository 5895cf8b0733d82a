"""``GET|POST /v2/rpc/{id}``: authentication variants, payload rules, error bodies, context."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import new_user, token_for
from tests.net.helpers import basic, http

MODULES = {
    "rpcs.lua": """
        local nk = require("nakama")
        nk.register_rpc(function(ctx, payload) return payload end, "Echo")
        nk.register_rpc(function(ctx, payload)
          return nk.json_encode({user_id = ctx.user_id or "", username = ctx.username or "",
            headers = ctx.headers, query_params = ctx.query_params, session_id = ctx.session_id or "",
            mode = ctx.execution_mode, client_ip = ctx.client_ip or "", client_port = ctx.client_port or ""})
        end, "ctx")
        nk.register_rpc(function(ctx, payload) error({"not yours", 7}) end, "denied")
        nk.register_rpc(function(ctx, payload) error("plain failure") end, "fails")
        nk.register_rpc(function(ctx, payload) return nil end, "nothing")
    """
}

KEY = "defaulthttpkey"


@pytest.fixture
async def app(start_server):
    return await start_server(MODULES)


async def test_http_key_in_query_and_json_string_body(app):
    reply = await http(app.port, "POST", f"/v2/rpc/echo?http_key={KEY}", '"Hello World"')
    assert (reply.status, reply.body) == (200, b'{"payload":"Hello World"}')


async def test_http_key_as_basic_auth_username(app):
    reply = await http(app.port, "POST", "/v2/rpc/ECHO", '"x"', {"Authorization": basic(KEY, "ignored")})
    assert (reply.status, reply.json()) == (200, {"payload": "x"})


async def test_bearer_token_gives_the_user_to_the_context(app):
    user_id, username = new_user()
    reply = await http(app.port, "GET", "/v2/rpc/ctx", headers={"Authorization": "Bearer " + token_for(app, user_id, username)})
    ctx = orjson.loads(reply.json()["payload"])
    assert (ctx["user_id"], ctx["username"], ctx["session_id"], ctx["mode"]) == (user_id, username, "", "rpc")


async def test_auth_error_bodies_are_nakamas(app):
    wrong_key = await http(app.port, "POST", "/v2/rpc/echo?http_key=nope", '"x"')
    assert (wrong_key.status, wrong_key.body) == (401, b'{"error":"HTTP key invalid","message":"HTTP key invalid","code":16}')
    wrong_basic = await http(app.port, "POST", "/v2/rpc/echo", '"x"', {"Authorization": basic("nope")})
    assert (wrong_basic.status, wrong_basic.json()["message"]) == (401, "HTTP key invalid")
    bad_token = await http(app.port, "POST", "/v2/rpc/echo", '"x"', {"Authorization": "Bearer not.a.token"})
    assert (bad_token.status, bad_token.body) == (401, b'{"error":"Auth token invalid","message":"Auth token invalid","code":16}')
    none = await http(app.port, "POST", "/v2/rpc/echo", '"x"')
    assert none.status == 401
    assert none.json() == {"error": "Auth token or HTTP key required", "message": "Auth token or HTTP key required", "code": 16}


async def test_unknown_and_missing_id(app):
    unknown = await http(app.port, "POST", f"/v2/rpc/nope?http_key={KEY}", '"x"')
    assert (unknown.status, unknown.body) == (404, b'{"error":"RPC function not found","message":"RPC function not found","code":5}')
    missing = await http(app.port, "POST", f"/v2/rpc/?http_key={KEY}", '"x"')
    assert (missing.status, missing.json()) == (400, {"error": "RPC ID must be set", "message": "RPC ID must be set", "code": 3})


async def test_body_must_be_a_json_string_unless_unwrap(app):
    obj = await http(app.port, "POST", f"/v2/rpc/echo?http_key={KEY}", '{"a":1}')
    assert obj.status == 400
    assert obj.json() == {
        "error": "json: cannot unmarshal object into Go value of type string",
        "message": "json: cannot unmarshal object into Go value of type string",
        "code": 3,
    }
    raw = await http(app.port, "POST", f"/v2/rpc/echo?http_key={KEY}&unwrap", '{"a":1}', {"Content-Type": "application/json"})
    assert (raw.status, raw.body, raw.headers["content-type"]) == (200, b'{"a":1}', "application/json")
    plain = await http(app.port, "POST", f"/v2/rpc/echo?http_key={KEY}&unwrap=", "text")
    assert (plain.body, plain.headers["content-type"]) == (b"text", "text/plain")


async def test_get_ignores_the_payload_parameter(app):
    reply = await http(app.port, "GET", f"/v2/rpc/echo?http_key={KEY}&payload=zzz")
    assert reply.json() == {"payload": ""}
    nothing = await http(app.port, "POST", f"/v2/rpc/nothing?http_key={KEY}", '"x"')
    assert nothing.json() == {"payload": ""}


async def test_function_errors_carry_the_grpc_code(app):
    denied = await http(app.port, "POST", f"/v2/rpc/denied?http_key={KEY}")
    assert (denied.status, denied.body) == (403, b'{"code":7,"error":{},"message":"not yours"}')
    fails = await http(app.port, "POST", f"/v2/rpc/fails?http_key={KEY}")
    assert fails.status == 500
    assert fails.json() == {"code": 13, "error": {}, "message": "plain failure"}


async def test_body_too_large_after_auth_and_id(start_server):
    app = await start_server(MODULES, socket__max_request_size_bytes=16)
    big = '"' + "x" * 32 + '"'
    too_large = await http(app.port, "POST", f"/v2/rpc/echo?http_key={KEY}", big)
    assert (too_large.status, too_large.body) == (400, b'{"code":3, "message":"http: request body too large"}')
    no_auth = await http(app.port, "POST", "/v2/rpc/echo", big)  # authentication is checked first
    assert no_auth.status == 401


async def test_context_headers_and_query_params_as_nakama(app):
    reply = await http(app.port, "POST", f"/v2/rpc/ctx?http_key={KEY}&a=1&a=2&flag", "", {"x-custom-id": "7", "X-CUSTOM-ID": "8"})
    ctx = orjson.loads(reply.json()["payload"])
    assert ctx["query_params"] == {"a": ["1", "2"], "flag": [""]}  # http_key removed
    assert ctx["headers"]["X-Custom-Id"] == ["7", "8"]  # Go canonical names, every value
    assert "Host" not in ctx["headers"]
    assert ctx["user_id"] == ""  # an http_key call has no user
    assert ctx["client_ip"] == "127.0.0.1" and ctx["client_port"].isdigit()


@pytest.mark.parametrize(
    ("headers", "address"),
    [
        ({"X-Forwarded-For": "198.51.100.2"}, ("198.51.100.2", "")),  # no port: an empty one
        ({"X-Forwarded-For": " 198.51.100.2:8080 , 10.0.0.1"}, ("198.51.100.2", "8080")),  # the first entry
        ({"CF-Connecting-IP": "2001:db8::1", "X-Forwarded-For": "198.51.100.2"}, ("2001:db8::1", "")),  # Cloudflare's first
        ({"X-Forwarded-For": "[2001:db8::2]:443"}, ("2001:db8::2", "443")),
    ],
)
async def test_context_client_address_from_proxy_headers_as_nakama(app, headers, address):
    reply = await http(app.port, "GET", f"/v2/rpc/ctx?http_key={KEY}", headers=headers)
    ctx = orjson.loads(reply.json()["payload"])
    assert (ctx["client_ip"], ctx["client_port"]) == address
