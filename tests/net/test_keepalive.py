"""WebSocket ping/pong keepalive: a silent peer is dropped, a live one stays."""

from __future__ import annotations

from host.streams import StreamId
from tests.conftest import connect, new_user


async def test_silent_peer_is_dropped_and_live_peer_stays(start_server):
    app = await start_server(socket__ping_period_ms=50, socket__pong_wait_ms=200)
    stream = StreamId(20, label="keepalive")
    live_user, silent_user = new_user()[0], new_user()[0]
    live = await connect(app, live_user)  # the sans-I/O client answers pings by itself
    silent = await connect(app, silent_user)
    silent.transport.pause_reading()  # never sees the pings, never answers
    sessions = {s.user_id: s.session_id for s in app.services.sessions}
    app.services.streams.user_join(stream, live_user, sessions[live_user], hidden=True)
    app.services.streams.user_join(stream, silent_user, sessions[silent_user], persistence=False)
    assert (await live.recv())["stream_presence_event"]["joins"][0]["user_id"] == silent_user
    # the silent peer's leave arrives once pong_wait has passed without a word from it
    leave = await live.recv()
    assert leave["stream_presence_event"]["leaves"][0]["user_id"] == silent_user
    assert [s.user_id for s in app.services.sessions] == [live_user]
    assert not live.closed.done()
    assert await live.request({"cid": "1", "ping": {}}) == {"cid": "1", "pong": {}}
