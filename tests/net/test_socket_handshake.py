"""``/ws`` acceptance: format and token checks before the upgrade, session ids, no compression."""

from __future__ import annotations

import asyncio
import uuid

from host.net.tokens import encode_jwt
from host.streams import StreamId, node_hash
from tests.conftest import WAIT, WsClient, connect, new_user, token_for
from tests.net.helpers import http


async def test_bad_or_missing_token_is_401_before_the_upgrade(start_server):
    app = await start_server()
    for query in ("", "token=", "token=abc.def.ghi"):
        client = await WsClient.connect(app.port, query, check=False)
        response = await client.opened
        assert (response.status_code, response.body) == (401, b"Missing or invalid token\n")
    user_id, username = new_user()
    expired = encode_jwt({"tid": str(uuid.uuid4()), "uid": user_id, "usn": username, "exp": 1}, app.services.config.session.encryption_key)
    response = await (await WsClient.connect(app.port, f"token={expired}", check=False)).opened
    assert response.status_code == 401
    assert len(app.services.sessions) == 0


async def test_logged_out_token_is_refused(start_server):
    app = await start_server()
    user_id, username = new_user()
    issued = app.services.tokens.issue(user_id, username)
    app.services.tokens.invalidate(user_id, issued.claims, None)  # a logout
    response = await (await WsClient.connect(app.port, f"token={issued.token}", check=False)).opened
    assert response.status_code == 401


async def test_format_parameter(start_server):
    app = await start_server()
    token = token_for(app)
    bad = await (await WsClient.connect(app.port, f"token={token}&format=xml", check=False)).opened
    assert (bad.status_code, bad.body) == (400, b"Invalid format parameter\n")
    proto = await (await WsClient.connect(app.port, f"token={token}&format=protobuf", check=False)).opened
    assert (proto.status_code, proto.body) == (400, b"protobuf format not supported\n")
    # format is checked before the token, as Nakama does
    first = await (await WsClient.connect(app.port, "format=xml", check=False)).opened
    assert first.status_code == 400
    ok = await WsClient.connect(app.port, f"token={token}&format=json")
    assert await ok.request({"cid": "1", "ping": {}}) == {"cid": "1", "pong": {}}
    await ok.close()


async def test_plain_get_on_ws_is_checked_then_400(start_server):
    app = await start_server()
    assert (await http(app.port, "GET", "/ws")).status == 401
    reply = await http(app.port, "GET", f"/ws?token={token_for(app)}")
    assert (reply.status, reply.body) == (400, b"Bad Request\n")


async def test_authorization_header_is_read_before_the_query(start_server):
    app = await start_server()
    token = token_for(app)
    upgrade = (
        "GET /ws?token={query} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: {auth}\r\n\r\n"
    )
    assert (await _raw_upgrade(app.port, upgrade.format(query=token, auth="Token " + token))).startswith(b"HTTP/1.1 401")
    assert (await _raw_upgrade(app.port, upgrade.format(query="", auth="Bearer " + token))).startswith(b"HTTP/1.1 101")


async def _raw_upgrade(port: int, request: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request.encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    writer.close()
    return head


async def test_session_id_carries_the_node_hash_and_compression_is_off(start_server):
    app = await start_server(name="node-a")
    user_id, _ = new_user()
    client = await connect(app, user_id)
    response = await client.opened
    assert "Sec-WebSocket-Extensions" not in response.headers  # permessage-deflate declined
    [session] = list(app.services.sessions)
    parsed = uuid.UUID(session.session_id)
    assert parsed.version == 1
    assert parsed.bytes[10:16] == node_hash("node-a")
    # tracked hidden on its notification stream: no presence event was sent for it
    [presence] = app.services.streams.list(StreamId(0, user_id))
    assert (presence.session_id, presence.hidden) == (session.session_id, True)
    assert client.messages.empty()
    await client.close()
    assert app.services.streams.count(StreamId(0, user_id)) == 0
