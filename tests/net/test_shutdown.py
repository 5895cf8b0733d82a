"""Shutdown: every socket gets a close frame (1001), presence leaves flow, the process exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import orjson

from host.config import Config
from host.net.errors import CloseCode
from host.net.tokens import TokenService
from host.streams import StreamId
from tests.conftest import WAIT, WsClient, connect, new_user
from tests.net.helpers import http


async def test_app_close_sends_1001_and_leaves_reach_the_others(start_server):
    app = await start_server()
    stream = StreamId(20, label="room")
    users = [new_user()[0] for _ in range(3)]
    clients = [await connect(app, user_id) for user_id in users]
    sessions = {s.user_id: s.session_id for s in app.services.sessions}
    for user_id in users:
        app.services.streams.user_join(stream, user_id, sessions[user_id], persistence=False)
    for i, client in enumerate(clients):  # the joins each one saw
        for _ in range(3 - i):
            await client.recv()
    await app.close()
    for i, client in enumerate(clients):
        assert await client.wait_closed() == (CloseCode.GOING_AWAY, "server shutdown")
        # sockets close in connection order: each heard the leaves of those closed before it
        leaves = [(await client.recv())["stream_presence_event"]["leaves"][0]["user_id"] for _ in range(i)]
        assert leaves == users[:i]
        assert client.messages.empty()
    assert len(app.services.sessions) == 0


async def test_sigterm_closes_sockets_and_exits_0(tmp_path: Path):
    modules = tmp_path / "modules"
    modules.mkdir()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "host",
        "--name", "sigterm-test",
        "--data_dir", str(tmp_path / "data"),
        "--runtime.path", str(modules),
        "--socket.address", "127.0.0.1",
        "--socket.port", "0",
        "--logger.format", "json",
        stdout=asyncio.subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        port = await asyncio.wait_for(_ready_port(proc), 30)
        assert (await http(port, "GET", "/healthcheck")).json() == {}
        user_id, username = new_user()
        token = _token(user_id, username)
        clients = [await WsClient.connect(port, f"token={token}") for _ in range(2)]
        assert await clients[0].request({"cid": "1", "ping": {}}) == {"cid": "1", "pong": {}}
        proc.send_signal(signal.SIGTERM)
        for client in clients:
            assert await client.wait_closed() == (CloseCode.GOING_AWAY, "server shutdown")
        assert await asyncio.wait_for(proc.wait(), WAIT) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _ready_port(proc: asyncio.subprocess.Process) -> int:
    assert proc.stdout is not None
    while True:
        line = await proc.stdout.readline()
        assert line, "the server exited before it was ready"
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if str(record.get("msg", "")).startswith("nkhost ready on port "):
            return int(record["msg"].rsplit(" ", 1)[1])


def _token(user_id: str, username: str) -> str:
    """A session token signed with the default key, as the subprocess expects."""
    return TokenService.from_config(Config()).issue(user_id, username).token
