"""GET /v2/channel/{channel_id} over a real server on both engines: Nakama's checks in order,
pages in both directions with next / prev / cacheable cursors, permissions, hooks."""

from __future__ import annotations

import pytest

from tests.features.chat.helpers import Chatter, chatters

MODULE = """
local nk = require("nakama")
nk.register_req_before(function(ctx, req)
  if req.channel_id == "2...hooked" then req.channel_id = "2...lobby" ; req.limit = 2 end
  return req
end, "ListChannelMessages")
nk.register_req_after(function(ctx, out, req)
  nk.localcache_put("listed", tostring(#(out.messages or {})) .. " of " .. req.channel_id)
end, "ListChannelMessages")
nk.register_rpc(function(ctx, key) return nk.localcache_get(key) or "" end, "cache")
"""

LOBBY = "2...lobby"


@pytest.fixture
async def app(start_server, engine):
    return await start_server({"history_hooks.lua": MODULE}, engine=engine)


def bad(message: str) -> tuple[int, dict]:
    return 400, {"code": 3, "message": message}


async def page(reader: Chatter, channel_id: str = LOBBY, **query) -> tuple[list[str], dict]:
    """(the contents' "n" of each message, the cursors)."""
    body = await reader.ok("GET", f"/v2/channel/{channel_id}", **query)
    return [m["content"] for m in body.pop("messages", [])], body


async def test_checks_in_nakamas_order(app):
    (a,) = await chatters(app, 1)
    await a.join("lobby")
    await a.send(LOBBY)
    cursor = (await a.ok("GET", f"/v2/channel/{LOBBY}", limit=1))["cacheable_cursor"]
    for path, query, expected in [
        ("/v2/channel/", {"limit": 0}, bad("Invalid channel ID.")),  # the id comes before the limit
        (f"/v2/channel/{LOBBY}", {"limit": 0}, bad("Invalid limit - limit must be between 1 and 100.")),
        ("/v2/channel/lobby", {"limit": 101}, bad("Invalid limit - limit must be between 1 and 100.")),
        ("/v2/channel/lobby", {"cursor": "x"}, bad("Invalid channel ID.")),  # the id's form comes before the cursor
        ("/v2/channel/3...", {}, bad("Invalid channel ID.")),  # ⚠ Nakama lists a nil group's "channel"
        (f"/v2/channel/{LOBBY}", {"cursor": "nope"}, bad("Cursor is invalid or expired.")),
        ("/v2/channel/2...other", {"cursor": cursor}, bad("Cursor is invalid or expired.")),  # another channel's
        (f"/v2/channel/{LOBBY}", {"cursor": cursor, "forward": "false"}, bad("Cursor is invalid or expired.")),  # another direction's
        (f"/v2/channel/{LOBBY}", {"forward": "maybe"}, bad('parsing field "forward": strconv.ParseBool: parsing "maybe": invalid syntax')),
    ]:
        assert await a.call("GET", path, **query) == expected, (path, query)
    assert (await a.call("GET", f"/v2/channel/{LOBBY}"))[0] == 200
    assert await a.app.services.database.execute("DROP TABLE message") >= 0
    assert await a.call("GET", f"/v2/channel/{LOBBY}") == (500, {"code": 13, "message": "Error listing messages from channel."})


async def test_pages_and_cursors_in_both_directions(app):
    a, b = await chatters(app, 2)
    await a.join("lobby")
    for n in range(1, 6):
        await a.send(LOBBY, f'{{"n":{n}}}')
    n = [f'{{"n":{i}}}' for i in range(7)]
    assert (await page(b))[0] == n[1:6]  # ⚠ Nakama's default page is 1 message; 100 here
    first, cursors = await page(b, limit=2)
    assert first == n[1:3] and set(cursors) == {"next_cursor", "cacheable_cursor"}  # no prev without a cursor
    second, cursors2 = await page(b, limit=2, cursor=cursors["next_cursor"])
    assert second == n[3:5] and set(cursors2) == {"next_cursor", "prev_cursor", "cacheable_cursor"}
    assert (await page(b, limit=2, cursor=cursors2["prev_cursor"]))[0] == n[1:3]
    third, cursors3 = await page(b, limit=2, cursor=cursors2["next_cursor"])
    assert third == n[5:6] and "next_cursor" not in cursors3
    back, back_cursors = await page(b, limit=2, cursor=cursors3["prev_cursor"])
    assert back == n[3:5] and set(back_cursors) == {"next_cursor", "prev_cursor", "cacheable_cursor"}
    # Newest first.
    newest, down = await page(b, limit=2, forward="false")
    assert newest == [n[5], n[4]]
    older, down2 = await page(b, limit=2, forward="false", cursor=down["next_cursor"])
    assert older == [n[3], n[2]]
    assert (await page(b, limit=2, forward="false", cursor=down2["prev_cursor"]))[0] == [n[5], n[4]]
    # The cacheable cursor polls for what came after the page.
    poll = cursors3["cacheable_cursor"]
    empty, echoed = await page(b, limit=2, cursor=poll)
    assert empty == [] and echoed == {"cacheable_cursor": poll}
    await a.send(LOBBY, n[6])
    assert (await page(b, limit=2, cursor=poll))[0] == [n[6]]
    assert await page(b, "2...empty") == ([], {})


async def test_who_may_read(app):
    a, b, outsider = await chatters(app, 3)
    dm = (await a.join(b.id, 2))["id"]
    await a.send(dm)
    reversed_id = f"4.{max(a.id, b.id)}.{min(a.id, b.id)}."
    for reader, channel_id in ((a, dm), (b, dm), (b, reversed_id)):  # a DM named in either order
        (message,) = (await reader.ok("GET", f"/v2/channel/{channel_id}"))["messages"]
        assert message["channel_id"] == dm and {message["user_id_one"], message["user_id_two"]} == {a.id, b.id}
    assert await outsider.call("GET", f"/v2/channel/{dm}") == bad("Channel not found.")
    gid = (await a.ok("POST", "/v2/group", {"name": "readers", "open": True}))["id"]
    assert await outsider.call("GET", f"/v2/channel/3.{gid}..") == bad("Group not found.")
    await outsider.ok("POST", f"/v2/group/{gid}/join")
    assert [m["code"] for m in (await outsider.ok("GET", f"/v2/channel/3.{gid}.."))["messages"]] == [3]
    await a.join("lobby")
    await a.send(LOBBY)
    await a.send(LOBBY)
    await a.send(LOBBY)
    assert len((await outsider.ok("GET", "/v2/channel/2...hooked"))["messages"]) == 2  # the before hook rewrote it
    assert (await outsider.request("rpc", {"id": "cache", "payload": "listed"}))["rpc"]["payload"] == "2 of 2...lobby"
