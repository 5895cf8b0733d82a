"""Groups over a real server: every ``/v2/group`` endpoint with Nakama's checks, codes and texts,
nothing half-written, group-stream presences on leave/kick/ban/delete, notifications, listings
and cursors, and the REST hooks."""

from __future__ import annotations

import uuid

import orjson
import pytest

from host.features.groups.core import group_stream
from tests.conftest import connect_as
from tests.features.social.helpers import Player, players

HOOKS = """
local nk = require("nakama")
nk.register_req_before(function(ctx, payload)
  if payload.name == "Knights" then payload.name = "Knights (hooked)" end
  return payload
end, "CreateGroup")
nk.register_req_after(function(ctx, out, payload)
  nk.localcache_put("created", out.name .. "/" .. tostring(out.edge_count))
end, "CreateGroup")
nk.register_rpc(function() return nk.localcache_get("created") end, "created")
"""


@pytest.fixture
async def app(start_server):
    return await start_server({"hooks.lua": HOOKS})


def error(code: int, message: str) -> tuple[int, dict]:
    return {3: 400, 5: 404, 6: 409}[code], {"code": code, "message": message}


async def group(owner: Player, name: str, **fields) -> str:
    return (await owner.ok("POST", "/v2/group", {"name": name, **fields}))["id"]


async def users_of(player: Player, gid: str, **query) -> list[tuple[str, int]]:
    body = await player.ok("GET", f"/v2/group/{gid}/user", **query)
    return [(u["user"]["id"], u["state"]) for u in body.get("group_users", [])]


async def test_create_update_delete(app) -> None:
    owner, member = await players(app, 2)
    body = await owner.ok("POST", "/v2/group", {"name": "Knights", "description": "d", "lang_tag": "fr"})
    assert body["name"] == "Knights (hooked)" and body["open"] is False and body["edge_count"] == 1 and body["max_count"] == 100
    assert (body["creator_id"], body["lang_tag"], body["description"], body["metadata"]) == (owner.id, "fr", "d", "{}")
    socket = await connect_as(app, owner.token)
    reply = await socket.request({"cid": "r", "rpc": {"id": "created"}})
    assert reply["rpc"]["payload"] == "Knights (hooked)/1"
    await socket.close()
    gid = body["id"]
    assert await owner.call("POST", "/v2/group", {"name": "Knights"}) == error(6, "Group name is in use.")
    assert await owner.call("POST", "/v2/group", {}) == error(3, "Group name must be set.")
    assert await owner.call("POST", "/v2/group", {"name": "x", "max_count": -1}) == error(3, "Group max count must be >= 1 when set.")
    assert await owner.call("POST", "/v2/group", {"name": "x" * 256}) == error(3, "Group name must be at most 255 characters.")
    # Update: admins only; a field must change; names stay unique.
    await group(owner, "Other")
    await member.ok("POST", f"/v2/group/{gid}/join")
    assert await member.call("PUT", f"/v2/group/{gid}", {"name": "Mine"}) == error(5, "Group not found or you're not allowed to update.")
    assert await owner.call("PUT", f"/v2/group/{gid}", {}) == error(3, "Specify at least one field to update.")
    assert await owner.call("PUT", f"/v2/group/{gid}", {"name": "Other"}) == error(3, "Group name is in use.")
    assert await owner.call("PUT", f"/v2/group/{gid}", {"name": ""}) == error(3, "Group name cannot be empty.")
    assert await owner.call("PUT", f"/v2/group/{gid}", {"lang_tag": ""}) == error(3, "Group language cannot be empty.")
    assert await owner.call("PUT", "/v2/group/nope", {"name": "y"}) == error(3, "Group ID must be a valid ID.")
    assert await owner.call("PUT", f"/v2/group/{uuid.uuid4()}", {"name": "y"}) == error(5, "Group not found or you're not allowed to update.")
    await owner.ok("PUT", f"/v2/group/{gid}", {"name": "Renamed", "open": True, "description": ""})
    (renamed,) = (await owner.ok("GET", "/v2/group", name="renamed"))["groups"]
    assert renamed["open"] is True and "description" not in renamed
    # Delete: superadmins only; the group stream closes without events.
    assert await member.call("DELETE", f"/v2/group/{gid}") == error(3, "Group not found or you're not allowed to delete.")
    await owner.ok("DELETE", f"/v2/group/{gid}")
    assert await owner.ok("GET", "/v2/group", name="renamed") == {}
    assert await owner.call("DELETE", f"/v2/group/{gid}") == error(3, "Group not found or you're not allowed to delete.")


async def test_join_requests_notify_the_admins_and_full_groups_refuse(app) -> None:
    owner, admin, asker, late = await players(app, 4)
    gid = await group(owner, "Closed", max_count=3)
    await owner.ok("POST", f"/v2/group/{gid}/add", user_ids=[admin.id])
    await owner.ok("POST", f"/v2/group/{gid}/promote", user_ids=[admin.id])
    sockets = [await connect_as(app, p.token) for p in (owner, admin)]
    await asker.ok("POST", f"/v2/group/{gid}/join")
    for socket in sockets:
        [note] = (await socket.recv())["notifications"]["notifications"]
        assert (note["code"], note["subject"], note["sender_id"]) == (-5, f"User {asker.username} wants to join your group", asker.id)
        assert orjson.loads(note["content"]) == {"group_id": gid, "username": asker.username}
        await socket.close()
    assert await users_of(owner, gid) == [(owner.id, 0), (admin.id, 1), (asker.id, 3)]
    await admin.ok("POST", f"/v2/group/{gid}/add", user_ids=[asker.id])  # accepting the request
    assert await users_of(owner, gid, state=2) == [(asker.id, 2)]
    assert await late.call("POST", f"/v2/group/{gid}/join") == error(3, "Group is full.")
    assert await late.call("POST", f"/v2/group/{uuid.uuid4()}/join") == error(5, "Group not found.")
    assert await late.call("POST", "/v2/group/xyz/join") == error(3, "Group ID must be a valid ID.")


async def test_admin_actions_refuse_whole_requests(app) -> None:
    owner, member, *rest = await players(app, 6)
    gid = await group(owner, "Small", open=True, max_count=4)
    await member.ok("POST", f"/v2/group/{gid}/join")
    path = f"/v2/group/{gid}"
    for verb in ("add", "kick", "ban", "promote", "demote"):
        assert await member.call("POST", f"{path}/{verb}", user_ids=[owner.id]) == error(5, "Group not found or permission denied."), verb
    assert await owner.call("POST", f"{path}/add", user_ids=["nope"]) == error(3, "User ID must be a valid ID.")
    assert await owner.call("POST", f"{path}/demote") == error(3, "User IDs must be set.")
    assert await owner.ok("POST", f"{path}/kick") == {}
    # One unknown user, or one user too many: nobody is added.
    assert await owner.call("POST", f"{path}/add", user_ids=[rest[0].id, str(uuid.uuid4())]) == error(3, "One or more users not found.")
    assert await owner.call("POST", f"{path}/add", user_ids=[p.id for p in rest[:3]]) == error(3, "Group is full.")
    assert await users_of(owner, gid) == [(owner.id, 0), (member.id, 2)]
    socket = await connect_as(app, rest[0].token)
    await owner.ok("POST", f"{path}/add", user_ids=[p.id for p in rest[:2]])
    [note] = (await socket.recv())["notifications"]["notifications"]
    assert (note["code"], note["subject"], note["sender_id"]) == (-4, "You've been added to group Small", owner.id)
    assert orjson.loads(note["content"]) == {"group_id": gid, "name": "Small"}
    await socket.close()
    (listed,) = (await owner.ok("GET", f"/v2/user/{rest[0].id}/group"))["user_groups"]
    assert listed["state"] == 2 and listed["group"]["edge_count"] == 4
    assert await owner.call("POST", f"{path}/leave") == error(3, "Cannot leave group when you are the last superadmin.")
    assert await owner.call("POST", f"/v2/group/{uuid.uuid4()}/kick", user_ids=[member.id]) == error(5, "Group not found or permission denied.")


async def test_leave_kick_and_ban_take_users_off_the_group_stream(app) -> None:
    owner, a, b, c = await players(app, 4)
    gid = await group(owner, "Chat", open=True)
    for p in (a, b, c):
        await p.ok("POST", f"/v2/group/{gid}/join")
    sockets = {p.id: await connect_as(app, p.token) for p in (owner, a, b, c)}
    sessions = {s.user_id: s.session_id for s in app.services.sessions}
    stream, streams = group_stream(gid), app.services.streams
    for uid in sockets:
        streams.user_join(stream, uid, sessions[uid])
    for socket in sockets.values():
        await _drain(socket)
    await a.ok("POST", f"/v2/group/{gid}/leave")
    await owner.ok("POST", f"/v2/group/{gid}/kick", user_ids=[b.id])
    await owner.ok("POST", f"/v2/group/{gid}/ban", user_ids=[c.id])
    seen = await _drain(sockets[owner.id])
    left = [e["channel_presence_event"]["leaves"][0]["user_id"] for e in seen if "channel_presence_event" in e]
    assert left == [a.id, b.id, c.id]
    # Group chat (host/features/chat) tells the group stream of each change first: leave, kick, ban.
    assert [e["channel_message"]["code"] for e in seen if "channel_message" in e] == [5, 6, 8]
    assert [p.user_id for p in streams.list(stream)] == [owner.id]
    assert await users_of(owner, gid) == [(owner.id, 0)] and await users_of(owner, gid, state=4) == [(c.id, 4)]
    assert await c.ok("POST", f"/v2/group/{gid}/join") == {} and await users_of(owner, gid, state=4) == [(c.id, 4)]  # a ban sticks
    # The last member leaving deletes the group, and closes its stream with no events.
    await owner.ok("POST", f"/v2/group/{gid}/leave")
    assert await owner.ok("GET", "/v2/group", name="Chat") == {} and streams.count(stream) == 0
    assert await _drain(sockets[owner.id]) == []
    for socket in sockets.values():
        await socket.close()


async def _drain(socket) -> list:
    socket.send({"cid": "drain", "ping": {}})
    seen = []
    while (message := await socket.recv()) != {"cid": "drain", "pong": {}}:
        seen.append(message)
    return seen


async def test_listings_filters_and_cursors(app) -> None:
    owner, *members = await players(app, 4)
    gid = await group(owner, "Alpha", open=True, lang_tag="de")
    for name, fields in (("alphabet", {}), ("Beta", {"open": True}), ("gamma", {"lang_tag": "de"})):
        await group(owner, name, **fields)
    for p in members:
        await p.ok("POST", f"/v2/group/{gid}/join")
    listed = await users_of(owner, gid)
    page = await owner.ok("GET", f"/v2/group/{gid}/user", limit=2)
    rest = await owner.ok("GET", f"/v2/group/{gid}/user", limit=2, cursor=page["cursor"])
    assert [u["user"]["id"] for u in page["group_users"] + rest["group_users"]] == [uid for uid, _ in listed]
    assert len(listed) == 4 and "cursor" not in rest
    assert await owner.call("GET", f"/v2/group/{gid}/user", limit=101) == error(3, "Invalid limit - limit must be between 1 and 100.")
    assert await owner.call("GET", f"/v2/group/{gid}/user", state=5) == error(3, "Invalid state - state must be between 0 and 4.")
    assert await owner.call("GET", f"/v2/group/{gid}/user", cursor="x") == error(3, "Cursor is invalid.")
    assert await owner.call("GET", f"/v2/user/{owner.id}/group", cursor=page["cursor"], state=1) == error(3, "Cursor is invalid.")
    # ⚠ Nakama says "Group ID must be a valid ID." for a bad user id here.
    assert await owner.call("GET", "/v2/user/nope/group") == error(3, "User ID must be a valid ID.")
    mine = await owner.ok("GET", f"/v2/user/{owner.id}/group")
    assert len(mine["user_groups"]) == 4 and {g["state"] for g in mine["user_groups"]} == {0}

    async def names(**query) -> list[str]:
        body = await owner.ok("GET", "/v2/group", **query)
        return sorted(g["name"] for g in body.get("groups", []))

    assert await names(name="ALPHA%") == ["Alpha", "alphabet"]  # case-insensitive, trailing % a wildcard
    assert await names(name="% alpha") == ["Alpha"]  # leading % and spaces are dropped
    assert await names(open="true") == ["Alpha", "Beta"]
    assert await names(lang_tag="de") == ["Alpha", "gamma"]
    assert await names(members=1) == ["Beta", "alphabet", "gamma"]
    assert await names() == ["Alpha", "Beta", "alphabet", "gamma"]  # ⚠ Nakama's default page is 1 group
    assert await owner.call("GET", "/v2/group", name="a", open="true") == error(3, "name filter cannot be combined with any other filter")
    assert await owner.call("GET", "/v2/group", limit=0) == error(3, "Invalid limit - limit must be between 1 and 100.")
    assert await owner.call("GET", "/v2/group", cursor="nope") == error(3, "Malformed cursor was used.")
    seen, cursor = [], None
    while True:
        body = await owner.ok("GET", "/v2/group", limit=1, members=10, **({"cursor": cursor} if cursor else {}))
        seen += [(g["name"], g.get("edge_count", 0)) for g in body["groups"]]
        if "cursor" not in body:
            break
        cursor = body["cursor"]
    assert seen[0] == ("Alpha", 4) and sorted(seen[1:]) == [("Beta", 1), ("alphabet", 1), ("gamma", 1)]
    assert await owner.call("GET", "/v2/group", cursor=cursor) == error(3, "Malformed cursor was used.")  # made for another order


async def test_get_users_by_ids_and_usernames(app) -> None:
    a, b, c = await players(app, 3)
    socket = await connect_as(app, c.token, "status=true")
    body = await a.ok("GET", "/v2/user", ids=[a.id, str(uuid.uuid4())], usernames=[b.username, c.username, a.username, "nobody"])
    found = {u["id"]: u for u in body["users"]}
    assert set(found) == {a.id, b.id, c.id} and len(body["users"]) == 3  # each user once
    assert found[c.id]["online"] is True and "online" not in found[b.id]
    assert found[b.id]["username"] == b.username and found[b.id]["create_time"].endswith("Z")
    assert await a.ok("GET", "/v2/user") == {}
    assert await a.call("GET", "/v2/user", ids=["nope"]) == error(3, "ID 'nope' is not a valid system ID.")
    await socket.close()
