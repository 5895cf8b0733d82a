"""Status streams (mode 1): events go to the followers of the user, with the status text."""

from __future__ import annotations

import pytest

from tests.conftest import connect, new_user
from tests.net.streams_lua import STREAMS_LUA, drive, nothing_pending


@pytest.fixture
async def app(start_server):
    return await start_server({"streams.lua": STREAMS_LUA})


def session_ids(app, user_id):
    return [s.session_id for s in app.services.sessions if s.user_id == user_id]


async def test_status_true_tracks_the_status_stream_and_followers_hear_it(app):
    user_id, username = new_user()
    watcher = await connect(app, user_id, username)  # every socket follows its own user
    stranger = await connect(app)
    online = await connect(app, user_id, username, query="status=true")
    [watcher_sid, online_sid] = session_ids(app, user_id)
    # status is a StringValue: written on status streams even when "" (nakama-features §0.1)
    join = {"status_presence_event": {"joins": [{"user_id": user_id, "session_id": online_sid, "username": username, "status": ""}]}}
    assert await watcher.recv() == join
    assert await online.recv() == join  # it follows its own user too
    await nothing_pending(stranger)

    status_stream = {"mode": 1, "subject": user_id}
    pushed, _ = await drive(online, "update", stream=status_stream, status="in a match")
    change = {"status_presence_event": {
        "joins": [{"user_id": user_id, "session_id": online_sid, "username": username, "status": "in a match"}],
        "leaves": [{"user_id": user_id, "session_id": online_sid, "username": username, "status": ""}],
    }}
    assert pushed == [change]
    assert await watcher.recv() == change

    await online.close()
    leave = {"status_presence_event": {"leaves": [
        {"user_id": user_id, "session_id": online_sid, "username": username, "status": "in a match"}]}}
    assert await watcher.recv() == leave
    await nothing_pending(watcher)
    await nothing_pending(stranger)
    assert watcher_sid in session_ids(app, user_id)


async def test_status_false_does_not_track(app):
    user_id, _ = new_user()
    client = await connect(app, user_id, query="status=false")
    await nothing_pending(client)
    _, count = await drive(client, "count", stream={"mode": 1, "subject": user_id})
    assert count["rpc"]["payload"] == "0"
