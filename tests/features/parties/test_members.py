"""What a party's leader and members do over real sockets: accept, remove, promote, leave,
disconnect, close, data and update, with the pushes in the order players see them."""

from __future__ import annotations

import base64

import pytest

from host.features.parties.party import parse_party_id
from tests.features.parties.helpers import bad, closed, joined, leader, left, player


@pytest.fixture
async def app(start_server):
    return await start_server()


async def party_of(app, n: int, **create):
    """A party led by the first of ``n`` players, the others joined (queues drained)."""
    players = [await player(app) for _ in range(n)]
    pid = await players[0].create(**create)
    for i, p in enumerate(players[1:], start=1):
        await p.ok("party_join", party_id=pid)
        for earlier in players[:i]:
            assert await earlier.recv() == joined(pid, p)
    return pid, players


async def test_accept_makes_the_requester_a_member(app):
    a, b, c = await player(app), await player(app), await player(app)
    pid = await a.create(open=False, max_size=3)
    await b.ok("party_join", party_id=pid)
    await a.recv()  # the join request
    assert await a.ok("party_accept", party_id=pid, presence=b.presence) == [joined(pid, b)]
    party = await b.recv()
    assert party == {"party": {"party_id": pid, "max_size": 3, "self": b.presence, "leader": a.presence, "presences": [a.presence, b.presence]}}
    assert await b.recv() == joined(pid, b)
    await b.quiet()
    _, reply = await a.ask("party_join_request_list", party_id=pid)
    assert reply["party_join_request"] == {"party_id": pid}
    await c.ok("party_join", party_id=pid)  # still closed: a request again
    assert await a.recv() == {"party_join_request": {"party_id": pid, "presences": [c.presence]}}


async def test_accept_refusals(app):
    a, b, c = await player(app), await player(app), await player(app)
    pid = await a.create(open=False, max_size=2)
    await b.ok("party_join", party_id=pid)
    await c.ok("party_join", party_id=pid)
    await a.recv(), await a.recv()
    assert await c.error("party_accept", party_id=pid, presence=b.presence) == bad("Error accepting party join request: party leader only")
    stranger = {**b.presence, "session_id": c.session_id}
    assert await a.error("party_accept", party_id=pid, presence=stranger) == bad("Error accepting party join request: party join request not found")
    wrong_name = {**b.presence, "username": "someone-else"}
    assert await a.error("party_accept", party_id=pid, presence=wrong_name) == bad("Error accepting party join request: party join request not found")
    for missing in ("user_id", "session_id", "username"):
        presence = {k: v for k, v in b.presence.items() if k != missing}
        assert await a.error("party_accept", party_id=pid, presence=presence) == bad("Invalid presence")
    assert await a.error("party_accept", party_id=pid) == bad("Invalid presence")
    await a.ok("party_accept", party_id=pid, presence=b.presence)
    assert await a.error("party_accept", party_id=pid, presence=c.presence) == bad("Error accepting party join request: party full")


async def test_removing_a_member_tells_them_and_the_others(app):
    pid, (a, b, c) = await party_of(app, 3)
    assert await a.ok("party_remove", party_id=pid, presence=b.presence) == [left(pid, b)]
    assert await b.recv() == closed(pid)
    assert await c.recv() == left(pid, b)
    await b.quiet()
    assert await b.error("party_data_send", party_id=pid, op_code=1) == bad("Error sending party data: party member not found")


async def test_removing_a_join_request_tells_the_requester(app):
    """⚠ Nakama deleted a refused request without a word to the requester, who waited on.
    Here the requester gets ``party_close``."""
    a, b = await player(app), await player(app)
    pid = await a.create(open=False)
    await b.ok("party_join", party_id=pid)
    await a.recv()
    assert await a.ok("party_remove", party_id=pid, presence=b.presence) == []
    assert await b.recv() == closed(pid)
    _, reply = await a.ask("party_join_request_list", party_id=pid)
    assert reply["party_join_request"] == {"party_id": pid}


async def test_remove_refusals(app):
    pid, (a, b) = await party_of(app, 2)
    c = await player(app)
    assert await a.error("party_remove", party_id=pid, presence=a.presence) == bad("Error removing party member or join request: party cannot remove self")
    assert await a.error("party_remove", party_id=pid, presence=c.presence) == bad("Error removing party member or join request: party member not found")
    assert await b.error("party_remove", party_id=pid, presence=a.presence) == bad("Error removing party member or join request: party leader only")
    assert await a.error("party_remove", party_id=pid, presence={"user_id": b.user_id}) == bad("Invalid presence")


async def test_promote_tells_everyone_before_the_ack(app):
    pid, (a, b, c) = await party_of(app, 3)
    assert await a.ok("party_promote", party_id=pid, presence=c.presence) == [leader(pid, c)]
    assert await b.recv() == leader(pid, c)
    assert await c.recv() == leader(pid, c)
    assert await a.error("party_promote", party_id=pid, presence=b.presence) == bad("Error promoting new party leader: party leader only")
    assert await c.error("party_promote", party_id=pid, presence={**b.presence, "username": "x"}) == bad(
        "Error promoting new party leader: party member not found"
    )
    assert await c.ok("party_close", party_id=pid) == [closed(pid)]


async def test_the_leader_leaving_hands_over_to_the_oldest_member(app):
    pid, (a, b, c) = await party_of(app, 3)
    assert await a.ok("party_leave", party_id=pid) == []
    for p in (b, c):
        assert await p.recv() == leader(pid, b)  # the new leader, then the leave
        assert await p.recv() == left(pid, a)
    assert await c.error("party_close", party_id=pid) == bad("Error closing party: party leader only")
    await b.ok("party_promote", party_id=pid, presence=c.presence)


async def test_a_member_leaving_changes_nothing_else(app):
    pid, (a, b, c) = await party_of(app, 3)
    await c.ok("party_leave", party_id=pid)
    assert await a.recv() == left(pid, c)
    assert await b.recv() == left(pid, c)
    await a.quiet(), await b.quiet()
    await c.ok("party_leave", party_id=pid)  # leaving again, or a party never joined: still an ack
    await c.ok("party_leave", party_id=pid.replace(".nakama", ".elsewhere"))


async def test_a_disconnect_is_a_leave(app):
    pid, (a, b, c) = await party_of(app, 3)
    await a.ws.close()
    for p in (b, c):
        assert await p.recv() == leader(pid, b)
        assert await p.recv() == left(pid, a)
    await b.ws.close()
    assert await c.recv() == leader(pid, c)
    assert await c.recv() == left(pid, b)
    await c.quiet()


async def test_the_last_member_leaving_closes_the_party_silently(app):
    a, b = await player(app), await player(app)
    pid = await a.create()
    await a.ok("party_leave", party_id=pid)
    await a.quiet()
    assert await b.error("party_join", party_id=pid) == bad("Error joining party: party not found")
    assert app.services.features["parties"].registry.parties() == []


async def test_a_party_emptied_by_disconnect_tells_pending_requesters(app):
    a, b = await player(app), await player(app)
    pid = await a.create(open=False)
    await b.ok("party_join", party_id=pid)
    await a.ws.close()
    assert await b.recv() == closed(pid)


async def test_close_tells_members_and_requesters_then_the_stream_is_gone(app):
    pid, (a, b) = await party_of(app, 2)
    await a.ok("party_update", party_id=pid, open=False)
    await b.recv()
    c = await player(app)
    await c.ok("party_join", party_id=pid)
    await a.recv()
    assert await b.error("party_close", party_id=pid) == bad("Error closing party: party leader only")
    assert await a.ok("party_close", party_id=pid) == [closed(pid)]
    assert await b.recv() == closed(pid)
    assert await c.recv() == closed(pid)
    await b.ws.close()  # no presence event: the stream is closed
    await a.quiet()
    assert await a.error("party_close", party_id=pid) == bad("Error closing party: party not found")
    assert app.services.streams.count(parse_party_id(pid).stream) == 0


async def test_data_reaches_every_other_member(app):
    pid, (a, b, c) = await party_of(app, 3)
    assert await b.ok("party_data_send", party_id=pid, op_code="5", data=base64.b64encode(b"\x00hi").decode()) == []
    expected = {"party_data": {"party_id": pid, "presence": b.presence, "op_code": "5", "data": "AGhp"}}
    assert await a.recv() == expected
    assert await c.recv() == expected
    await b.quiet()
    await a.ok("party_data_send", party_id=pid, op_code=0)
    assert await b.recv() == {"party_data": {"party_id": pid, "presence": a.presence}}


async def test_data_accepts_url_safe_unpadded_base64(app):
    pid, (a, b) = await party_of(app, 2)
    await a.ok("party_data_send", party_id=pid, op_code=1, data="-_8")
    assert (await b.recv())["party_data"]["data"] == base64.b64encode(base64.urlsafe_b64decode("-_8=")).decode()


async def test_data_from_a_non_member(app):
    pid, (a, _) = await party_of(app, 2)
    outsider = await player(app)
    assert await outsider.error("party_data_send", party_id=pid, op_code=1) == bad("Error sending party data: party member not found")


async def test_data_from_a_party_client_without_cid_gets_an_empty_envelope(app):
    """nakama-js sends party_data_send without a cid; Nakama still acks, with ``{}``."""
    pid, (a, b) = await party_of(app, 2)
    a.ws.send({"party_data_send": {"party_id": pid, "op_code": "3", "data": "eA=="}})
    assert await a.recv() == {}
    assert (await b.recv())["party_data"]["op_code"] == "3"


async def test_update_changes_only_what_it_carries(app):
    """⚠ Nakama replaced label, open and hidden together: a leader changing only the label
    closed the party. Here omitted fields keep their values."""
    pid, (a, b) = await party_of(app, 2, max_size=3)
    pushed = await a.ok("party_update", party_id=pid, label='{"mode":"trio"}')
    update = {"party_update": {"party_id": pid, "label": '{"mode":"trio"}', "open": True}}
    assert pushed == [update]
    assert await b.recv() == update
    c = await player(app)
    pushed = await c.ok("party_join", party_id=pid)  # still open
    assert pushed[0]["party"]["label"] == '{"mode":"trio"}'
    await a.recv(), await b.recv()
    pushed = await a.ok("party_update", party_id=pid, open=False, label="")
    assert pushed == [{"party_update": {"party_id": pid}}]


async def test_update_refusals(app):
    pid, (a, b) = await party_of(app, 2)
    assert await b.error("party_update", party_id=pid, open=False) == bad("Error updating party: party leader only")
    assert await a.error("party_update", party_id=pid, label='{"a":1}', hidden=True) == bad(
        "Error updating party: party is hidden and label is not empty, invalid operation"
    )
    await a.ok("party_update", party_id=pid, label='{"a":1}')
    await b.recv()
    assert await a.error("party_update", party_id=pid, hidden=True) == bad(
        "Error updating party: party is hidden and label is not empty, invalid operation"
    )
    assert await a.error("party_update", party_id=pid, label="[]") == bad(
        "Error updating party: failed to unmarshal party label: json: cannot unmarshal array into Go value of type map[string]interface {}"
    )
    assert (await a.error("party_update", party_id=pid, label="{" + '"k":1,' * 400 + '"z":0}'))["message"] == (
        "Error updating party: party label too long"
    )
    await a.ok("party_update", party_id=pid, label="", hidden=True)
    assert await b.recv() == {"party_update": {"party_id": pid, "open": True, "hidden": True}}
