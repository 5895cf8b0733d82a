"""Realtime envelope rules: keys, omission, errors that close and errors that do not."""

from __future__ import annotations

import orjson
import pytest
from websockets.frames import Close

from host.net.errors import CloseCode
from tests.conftest import connect, new_user

MODULES = {
    "rpcs.lua": """
        local nk = require("nakama")
        nk.register_rpc(function(ctx, payload) return payload end, "Echo")
        nk.register_rpc(function(ctx, payload) error({"custom code is lost", 7}) end, "fails")
        nk.register_rpc(function(ctx, payload)
          return nk.json_encode({user_id = ctx.user_id, username = ctx.username, session_id = ctx.session_id,
            lang = ctx.lang, headers = ctx.headers, query_params = ctx.query_params, vars = ctx.vars,
            client_ip = ctx.client_ip, client_port = ctx.client_port})
        end, "ctx")
    """
}


@pytest.fixture
async def app(start_server):
    return await start_server(MODULES)


async def assert_closed_without_reply(client, reason: str = "received malformed payload"):
    assert await client.wait_closed() == (CloseCode.NORMAL, reason)
    assert client.messages.empty()


async def test_ping_pong(app):
    client = await connect(app)
    assert await client.request({"cid": "7", "ping": {}}) == {"cid": "7", "pong": {}}
    assert await client.request({"ping": {}}) == {"pong": {}}  # no cid, none echoed
    client.send({"cid": "8", "pong": {}})  # ignored: no reply
    assert await client.request({"cid": "9", "ping": {}}) == {"cid": "9", "pong": {}}
    await client.close()


async def test_rpc_reply_shapes(app):
    client = await connect(app)
    assert await client.request({"cid": "1", "rpc": {"id": "ECHO", "payload": "hi"}}) == {"cid": "1", "rpc": {"id": "ECHO", "payload": "hi"}}
    assert await client.request({"cid": "2", "rpc": {"id": "echo"}}) == {"cid": "2", "rpc": {"id": "echo"}}  # empty payload omitted
    assert await client.request({"rpc": {"id": "echo", "payload": "x"}}) == {"rpc": {"id": "echo", "payload": "x"}}
    # protojson also takes lowerCamel field names
    assert await client.request({"cid": "3", "rpc": {"id": "echo", "payload": "y", "httpKey": ""}}) == {"cid": "3", "rpc": {"id": "echo", "payload": "y"}}
    await client.close()


async def test_rpc_errors_keep_the_socket_open(app):
    client = await connect(app)
    assert await client.request({"cid": "1", "rpc": {"id": "nope"}}) == {"cid": "1", "error": {"code": 6, "message": "RPC function not found"}}
    assert await client.request({"cid": "2", "rpc": {"id": "fails"}}) == {"cid": "2", "error": {"code": 7, "message": "custom code is lost"}}
    assert await client.request({"cid": "3", "rpc": {"payload": "x"}}) == {"cid": "3", "error": {"code": 3, "message": "RPC ID must be set"}}
    assert await client.request({"cid": "4", "ping": {}}) == {"cid": "4", "pong": {}}
    await client.close()


async def test_socket_rpc_context(app):
    user_id, username = new_user()
    client = await connect(app, user_id, username, query="lang=fr")
    reply = await client.request({"cid": "1", "rpc": {"id": "ctx"}})
    ctx = orjson.loads(reply["rpc"]["payload"])
    [session] = list(app.services.sessions)
    assert (ctx["user_id"], ctx["username"], ctx["session_id"], ctx["lang"]) == (user_id, username, session.session_id, "fr")
    assert (ctx["headers"], ctx["query_params"]) == ({}, {})
    assert ctx["client_ip"] == "127.0.0.1" and ctx["client_port"].isdigit()  # the TCP peer
    await client.close()


async def test_socket_context_takes_the_client_address_from_proxy_headers(app):
    client = await connect(app, headers={"X-Forwarded-For": "203.0.113.7:4711, 10.0.0.1"})
    ctx = orjson.loads((await client.request({"cid": "1", "rpc": {"id": "ctx"}}))["rpc"]["payload"])
    assert (ctx["client_ip"], ctx["client_port"]) == ("203.0.113.7", "4711")
    await client.close()


async def test_replies_keep_message_order(app):
    client = await connect(app)
    for i in range(20):
        client.send({"cid": str(i), "rpc": {"id": "echo", "payload": str(i)}} if i % 2 else {"cid": str(i), "ping": {}})
    cids = [(await client.recv())["cid"] for _ in range(20)]
    assert cids == [str(i) for i in range(20)]
    await client.close()


@pytest.mark.parametrize("envelope", [{"cid": "5"}, {}])
async def test_missing_message_is_error_2_and_close(app, envelope):
    client = await connect(app)
    reply = await client.request(envelope)
    assert reply == ({"cid": "5"} if envelope else {}) | {"error": {"code": 2, "message": "Missing message."}}
    assert await client.wait_closed() == (CloseCode.NORMAL, "missing message")


@pytest.mark.parametrize("key", ["stream_data", "channel_message", "notifications", "status_presence_event"])  # server-to-client only
async def test_known_but_unhandled_message_is_error_1_and_close(app, key):
    client = await connect(app)
    assert await client.request({"cid": "1", key: {}}) == {"cid": "1", "error": {"code": 1, "message": "Unrecognized message."}}
    assert await client.wait_closed() == (CloseCode.NORMAL, "unrecognized message")


@pytest.mark.parametrize(
    "text",
    [
        b"{not json",
        b'"a string"',
        b'{"cid":"1","bogus":{}}',  # unknown envelope key
        b'{"cid":"1","rpc":{"id":"echo","extra":1}}',  # unknown field
        b'{"cid":"1","rpc":{"id":5}}',  # wrong type
        b'{"cid":1,"ping":{}}',
        b'{"cid":"1","ping":{},"pong":{}}',  # two messages
        b'{"cid":"1","ping":[]}',
    ],
)
async def test_malformed_payload_closes_without_a_reply(app, text):
    client = await connect(app)
    client.send_text(text)
    await assert_closed_without_reply(client)


async def test_binary_frame_closes_a_json_socket(app):
    client = await connect(app)
    client.send_binary(b'{"cid":"1","ping":{}}')
    await assert_closed_without_reply(client, "received unexpected WebSocket message type")


async def test_message_over_max_size_closes_1009(start_server):
    app = await start_server(MODULES, socket__max_message_size_bytes=256)
    client = await connect(app)
    ok = {"cid": "1", "rpc": {"id": "echo", "payload": "x" * 150}}
    assert (await client.request(ok))["rpc"]["payload"] == "x" * 150
    client.send({"cid": "2", "rpc": {"id": "echo", "payload": "x" * 300}})
    code, _ = await client.wait_closed()
    assert code == CloseCode.MESSAGE_TOO_BIG
    assert client.messages.empty()
    assert len(app.services.sessions) == 0


async def test_fragmented_message_is_assembled(app):
    client = await connect(app)
    protocol = client.protocol
    protocol.send_text(b'{"cid":"1","rpc":{"id":"echo",', fin=False)
    protocol.send_continuation(b'"payload":"joined"}}', fin=True)
    client._flush()
    assert await client.recv() == {"cid": "1", "rpc": {"id": "echo", "payload": "joined"}}
    await client.close()


async def test_client_close_frame_is_answered(app):
    client = await connect(app)
    client.protocol.send_close(1000, "bye")
    client._flush()
    code, reason = await client.wait_closed()
    assert (code, reason) == (1000, "bye")  # the server echoes the client's close
    assert len(app.services.sessions) == 0
    assert isinstance(client.protocol.close_sent, Close)
