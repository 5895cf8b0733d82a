"""nk stream and session functions against a real StreamManager driven on the loop."""

from __future__ import annotations

import uuid

import pytest

from host.runtime import CallContext, HostOps, RpcError
from host.streams import new_session_id
from tests.runtime.helpers import make_engine

RUNNER = {"run.lua": """
    local nk = require("nakama")
    nk.register_rpc(function(ctx, payload) return (assert(load(payload)))(ctx) end, "run")
"""}
STREAM = "{mode = 20, label = 'room'}"


def uid() -> str:
    return str(uuid.uuid4())


class World:
    def __init__(self, engine, runtime):
        self.engine, self.runtime = engine, runtime

    def connect(self, name: str):
        return self.engine.connect(uid(), name)

    async def run(self, sink, code: str) -> str | None:
        ctx = CallContext(user_id=sink.user_id, username=sink.username, session_id=sink.session_id)
        return await self.runtime.call_rpc("run", ctx, "local ctx = ...\nlocal nk = require('nakama')\n" + code)

    def received(self, sink) -> list[dict]:
        return self.engine.received(sink)


@pytest.fixture
async def world(tmp_path, runtimes):
    engine = make_engine()
    sent, disconnected = [], []

    def send_raw(stream, envelope, session_ids, reliable):
        if "bogus" in envelope:
            raise ValueError("not a valid envelope: unknown field \"bogus\"")
        sent.append((stream, envelope, session_ids, reliable))

    host = HostOps(session_disconnect=lambda sid, reason: disconnected.append((sid, reason)), stream_send_raw=send_raw)
    world = World(engine, await runtimes(tmp_path, RUNNER, engine=engine, host=host))
    world.sent, world.disconnected = sent, disconnected
    return world


async def test_join_is_true_once_and_the_joiner_hears_its_own_join(world):
    alice = world.connect("alice")
    code = f"return tostring(nk.stream_user_join(ctx.user_id, ctx.session_id, {STREAM}, false, false))"
    assert await world.run(alice, code) == "true"
    assert await world.run(alice, code) == "false"
    events = world.received(alice)
    assert events == [{"stream_presence_event": {"stream": {"mode": 20, "label": "room"},
                                                 "joins": [{"user_id": alice.user_id, "session_id": alice.session_id, "username": "alice"}]}}]


async def test_get_update_list_count_leave(world):
    alice, bob = world.connect("alice"), world.connect("bob")
    for sink in (alice, bob):
        await world.run(sink, f"nk.stream_user_join(ctx.user_id, ctx.session_id, {STREAM}, false, true, 'hi')")
    got = await world.run(alice, f"return nk.json_encode(nk.stream_user_get(ctx.user_id, ctx.session_id, {STREAM}))")
    assert got == '{"hidden":false,"persistence":true,"status":"hi","username":"alice"}'
    await world.run(bob, f"nk.stream_user_update(ctx.user_id, ctx.session_id, {STREAM}, true)")
    assert await world.run(alice, f"return tostring(nk.stream_count({STREAM}))") == "2"
    visible = await world.run(alice, f"local l = nk.stream_user_list({STREAM}, false, true) return l[1].username .. #l")
    assert visible == "alice1"
    everyone = await world.run(alice, f"local l = nk.stream_user_list({STREAM}) return tostring(#l) .. l[1].node")
    assert everyone == "2nakama"
    await world.run(alice, f"nk.stream_user_leave(ctx.user_id, ctx.session_id, {STREAM})")
    assert await world.run(alice, f"return tostring(nk.stream_user_get(ctx.user_id, ctx.session_id, {STREAM}))") == "nil"
    assert await world.run(alice, f"return tostring(nk.stream_count({STREAM}))") == "1"


async def test_script_order_is_kept_and_the_reply_comes_last(world):
    alice, bob = world.connect("alice"), world.connect("bob")
    await world.run(alice, f"nk.stream_user_join(ctx.user_id, ctx.session_id, {STREAM})")
    world.received(alice)
    await world.run(alice, f"""
        nk.stream_send({STREAM}, "one")
        nk.stream_user_join("{bob.user_id}", "{bob.session_id}", {STREAM})
        nk.stream_send({STREAM}, "two")
        nk.stream_user_leave("{bob.user_id}", "{bob.session_id}", {STREAM})
        nk.stream_send({STREAM}, "three")
    """)
    kinds = [next(iter(e)) for e in world.received(alice)]  # all delivered before the reply
    assert kinds == ["stream_data", "stream_presence_event", "stream_data", "stream_presence_event", "stream_data"]


async def test_send_to_chosen_presences_reaches_non_members(world):
    alice, bob, carol = world.connect("alice"), world.connect("bob"), world.connect("carol")
    await world.run(alice, f"nk.stream_user_join(ctx.user_id, ctx.session_id, {STREAM})")
    world.received(alice)
    await world.run(alice, f"nk.stream_send({STREAM}, 42, {{{{session_id = '{bob.session_id}'}}}}, false)")
    assert world.received(bob) == [{"stream_data": {"stream": {"mode": 20, "label": "room"}, "data": "42"}}]
    assert world.received(alice) == [] and world.received(carol) == []
    await world.run(alice, f"nk.stream_send({STREAM}, 'all', {{}})")  # an empty table means the whole stream
    assert [e["stream_data"]["data"] for e in world.received(alice)] == ["all"]


async def test_kick_is_a_leave_and_close_removes_everyone_silently(world):
    alice, bob = world.connect("alice"), world.connect("bob")
    for sink in (alice, bob):
        await world.run(sink, f"nk.stream_user_join(ctx.user_id, ctx.session_id, {STREAM})")
    world.received(alice)
    await world.run(alice, f"nk.stream_user_kick({{user_id = '{bob.user_id}', session_id = '{bob.session_id}'}}, {STREAM})")
    assert world.received(alice)[0]["stream_presence_event"]["leaves"][0]["user_id"] == bob.user_id
    await world.run(alice, f"nk.stream_close({STREAM})")
    assert world.received(alice) == []
    assert await world.run(alice, f"return tostring(nk.stream_count({STREAM}))") == "0"


async def test_close_uses_the_subcontext_it_was_given(world):
    alice = world.connect("alice")
    subject, subcontext = uid(), uid()
    with_sub = f"{{mode = 30, subject = '{subject}', subcontext = '{subcontext}'}}"
    only_subject = f"{{mode = 30, subject = '{subcontext}'}}"
    for stream in (with_sub, only_subject):
        await world.run(alice, f"nk.stream_user_join(ctx.user_id, ctx.session_id, {stream})")
    await world.run(alice, f"nk.stream_close({with_sub})")
    assert await world.run(alice, f"return nk.stream_count({with_sub}) .. nk.stream_count({only_subject})") == "01"


@pytest.mark.parametrize("call,message", [
    ("nk.stream_user_join('', ctx.session_id, {mode = 20})", "bad argument #1 to stream_user_join (expects user id)"),
    ("nk.stream_user_join('nope', ctx.session_id, {mode = 20})", "bad argument #1 to stream_user_join (expects valid user id)"),
    ("nk.stream_user_join(ctx.user_id, nil, {mode = 20})", "bad argument #2 to stream_user_join (string expected, got nil)"),
    ("nk.stream_user_join(ctx.user_id, 'nope', {mode = 20})", "bad argument #2 to stream_user_join (expects valid session id)"),
    ("nk.stream_user_join(ctx.user_id, ctx.user_id, {mode = 20})", "stream user join failed: node not found"),
    ("nk.stream_user_join(ctx.user_id, LOCAL_UNKNOWN, {mode = 20})", "bad argument #2 to stream_user_join (session id does not exist)"),
    ("nk.stream_user_join(ctx.user_id, ctx.session_id, 'room')", "bad argument #3 to stream_user_join (table expected, got string)"),
    ("nk.stream_user_join(ctx.user_id, ctx.session_id, {mode = 'x'})", "bad argument #3 to stream_user_join (stream mode must be a number)"),
    ("nk.stream_user_join(ctx.user_id, ctx.session_id, {mode = 256})", "bad argument #3 to stream_user_join (stream mode must be a value 0-255)"),
    ("nk.stream_user_join(ctx.user_id, ctx.session_id, {mode = -1})", "bad argument #3 to stream_user_join (stream mode must be a value 0-255)"),
    ("nk.stream_user_join(ctx.user_id, ctx.session_id, {subject = ''})", "bad argument #3 to stream_user_join (stream subject must be a valid identifier)"),
    ("nk.stream_user_join(ctx.user_id, ctx.session_id, {subcontext = 5})", "bad argument #3 to stream_user_join (stream subcontext must be a string)"),
    ("nk.stream_user_join(ctx.user_id, ctx.session_id, {label = 5})", "bad argument #3 to stream_user_join (stream label must be a string)"),
    ("nk.stream_user_join(ctx.user_id, ctx.session_id, {}, 1)", "bad argument #4 to stream_user_join (boolean expected, got number)"),
    ("nk.stream_user_join(ctx.user_id, ctx.session_id, {}, false, false, 7)", "bad argument #6 to stream_user_join (string expected, got number)"),
    ("nk.stream_user_update(ctx.user_id, ctx.user_id, {})", "stream user update failed: node not found"),
    ("nk.stream_user_leave(ctx.user_id, ctx.user_id, {})", "stream user leave failed: node not found"),
    ("nk.stream_user_list(5)", "bad argument #1 to stream_user_list (table expected, got number)"),
    ("nk.stream_user_kick(nil, {})", "bad argument #1 to stream_user_kick (expects a valid presence)"),
    ("nk.stream_user_kick({user_id = ctx.user_id}, {})", "bad argument #1 to stream_user_kick (expects each presence to have a valid user_id, session_id, and node)"),
    ("nk.stream_user_kick({user_id = 'x', session_id = ctx.session_id}, {})", "bad argument #1 to stream_user_kick (expects each presence to have a valid user_id)"),
    ("nk.stream_user_kick({user_id = ctx.user_id, session_id = ctx.session_id}, {mode = 'x'})", "bad argument #2 to stream_user_kick (stream mode must be a number)"),
    ("nk.stream_count({mode = true})", "bad argument #3 to stream_count (stream mode must be a number)"),
    ("nk.stream_close(nil)", "bad argument #3 to stream_close (table expected, got nil)"),
    ("nk.stream_send({}, nil)", "bad argument #2 to stream_send (string expected, got nil)"),
    ("nk.stream_send({}, 'x', {'a'})", "bad argument #3 to stream_send (expects a valid set of presences)"),
    ("nk.stream_send({}, 'x', {{session_id = 'bad'}})", "bad argument #3 to stream_send (presence session id must be a valid identifier)"),
    ("nk.stream_send({}, 'x', nil, 'yes')", "bad argument #4 to stream_send (boolean expected, got string)"),
    ("nk.stream_send_raw({}, 'x')", "bad argument #2 to stream_send_raw (table expected, got string)"),
    ("nk.stream_send_raw({}, {bogus = 1})", "bad argument #2 to stream_send_raw (not a valid envelope: unknown field \"bogus\")"),
    ("nk.session_disconnect(ctx.session_id, 9)", "bad argument #2 to session_disconnect (invalid disconnect reason, must be a value 0-4)"),
])
async def test_argument_errors_carry_nakamas_texts_and_the_callers_line(world, call, message):
    alice = world.connect("alice")
    unknown = new_session_id("nakama")
    code = f"local LOCAL_UNKNOWN = '{unknown}'\nlocal ok, err = pcall(function()\n{call}\nend)\nreturn err"
    assert await world.run(alice, code) == f"load:5: {message}"  # the caller's chunk and line
    with pytest.raises(RpcError) as info:
        await world.run(alice, f"local LOCAL_UNKNOWN = '{unknown}'\n{call}")
    assert info.value.message.endswith(message)


async def test_send_raw_and_session_disconnect_go_to_the_host(world):
    alice = world.connect("alice")
    await world.run(alice, f"nk.stream_send_raw({STREAM}, {{channel_message = {{content = '{{}}'}}}}, {{{{session_id = ctx.session_id}}}}, false)")
    assert len(world.sent) == 1
    stream, envelope, targets, reliable = world.sent[0]
    assert (stream.mode, stream.label, envelope, targets, reliable) == (20, "room", {"channel_message": {"content": "{}"}}, [alice.session_id], False)
    await world.run(alice, "nk.session_disconnect(ctx.session_id, 3)")
    await world.run(alice, "return 'flush'")  # the disconnect was posted: the next reply comes after it
    assert world.disconnected == [(alice.session_id, 3)]


@pytest.mark.parametrize("args,reason", [("", 4), (", nil", 4), (", 0", 0), (", 3", 3)])
async def test_session_disconnect_reason_defaults_to_disconnect(world, args, reason):
    alice = world.connect("alice")
    await world.run(alice, f"nk.session_disconnect(ctx.session_id{args})")
    await world.run(alice, "return 'flush'")  # the disconnect was posted: the next reply comes after it
    assert world.disconnected == [(alice.session_id, reason)]


async def test_host_operations_without_a_network_layer(tmp_path, runtimes):
    engine = make_engine()
    runtime = await runtimes(tmp_path, RUNNER, engine=engine)
    sink = engine.connect(uid(), "alice")
    ctx = CallContext(user_id=sink.user_id, session_id=sink.session_id)
    got = await runtime.call_rpc("run", ctx, "local ctx = ...\nlocal ok, e = pcall(require('nakama').session_disconnect, ctx.session_id) return e")
    assert got == "session_disconnect: not available (no network layer is attached to the runtime)"


async def test_stream_functions_at_load_time_reach_the_engine(tmp_path, runtimes):
    engine = make_engine()
    sink = engine.connect(uid(), "alice")
    await runtimes(tmp_path, {"m.lua": f"""
        local nk = require("nakama")
        nk.stream_user_join("{sink.user_id}", "{sink.session_id}", {STREAM})
    """}, engine=engine)
    assert engine.manager.count(next(iter(engine.tracker.streams_of(sink.session_id)))) == 1
