"""The shipped lua_modules/: chat room examples, client-SDK RPCs and the benchmark module."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from host.runtime import CallContext, RpcError
from tests.runtime.helpers import make_engine

MODULES = Path(__file__).resolve().parents[2] / "lua_modules"


@pytest.fixture
async def shipped(tmp_path, runtimes):
    shutil.copytree(MODULES, tmp_path / "mods")
    engine = make_engine()
    runtime = await runtimes(tmp_path / "mods", {}, engine=engine)
    return engine, runtime


def caller(engine, name: str):
    sink = engine.connect(str(uuid.uuid4()), name)
    return sink, CallContext(user_id=sink.user_id, username=name, session_id=sink.session_id)


async def test_bench_module_is_the_shared_one_unchanged():
    assert (MODULES / "bench.lua").read_bytes() == Path("/work/shared/bench/bench.lua").read_bytes() or not Path("/work/shared/bench/bench.lua").exists()


async def test_global_chat_room(shipped):
    engine, runtime = shipped
    alice, actx = caller(engine, "alice")
    bob, bctx = caller(engine, "bob")
    assert await runtime.call_rpc("check", actx, "") == '{"present":false}'
    assert await runtime.call_rpc("join", actx, "") == '{"joined":true}'
    assert await runtime.call_rpc("join", bctx, "") == '{"joined":true}'
    assert await runtime.call_rpc("check", actx, "") == '{"present":true}'
    assert await runtime.call_rpc("count", actx, "") == '{"count":2}'
    engine.received(alice)
    await runtime.call_rpc("send", bctx, "hello room")
    (data,) = engine.received(alice)
    assert data == {"stream_data": {"stream": {"mode": 2, "label": "Global Chat Room"}, "data": "hello room", "reliable": True}}
    await runtime.call_rpc("hide", bctx, "")
    members = json.loads(await runtime.call_rpc("list", actx, ""))
    assert members == [{"user_id": alice.user_id, "session_id": alice.session_id, "username": "alice"}]
    assert await runtime.call_rpc("count", actx, "") == '{"count":2}'  # hidden members count
    await runtime.call_rpc("leave", actx, "")
    assert await runtime.call_rpc("check", actx, "") == '{"present":false}'
    await runtime.call_rpc("close", actx, "")
    assert await runtime.call_rpc("count", actx, "") == '{"count":0}'


async def test_clientrpc(shipped):
    engine, runtime = shipped
    sink, ctx = caller(engine, "alice")
    payload = json.dumps({"hello": "world"})
    assert await runtime.call_rpc("clientrpc.rpc", ctx, payload) == payload
    assert await runtime.call_rpc("clientrpc.rpc_get", CallContext(), "") == '{"message":"PONG"}'
    with pytest.raises(RpcError) as info:
        await runtime.call_rpc("clientrpc.rpc_error", ctx, "")
    assert (info.value.message, info.value.code) == ("Some error occurred.", 13)
    await runtime.call_rpc("clientrpc.send_stream_data", ctx, "helloworld")
    join, data = engine.received(sink)
    stream = {"mode": 20, "label": "Stream Data Test"}
    assert join == {"stream_presence_event": {"stream": stream, "joins": [{"user_id": sink.user_id, "session_id": sink.session_id, "username": "alice"}]}}
    assert data == {"stream_data": {"stream": stream, "data": "helloworld", "reliable": True}}


async def test_bench_rpcs(shipped):
    engine, runtime = shipped
    sink, ctx = caller(engine, "alice")
    assert await runtime.call_rpc("bench.echo", ctx, "x") == "x"
    assert await runtime.call_rpc("bench.join", ctx, "") == '{"joined":true}'
    await runtime.call_rpc("bench.send", ctx, "payload")
    assert engine.received(sink)[-1]["stream_data"]["data"] == "payload"
    result = json.loads(await runtime.call_rpc("bench.cpu", ctx, '{"reps":2,"span":6}'))
    assert result["reps"] == 2 and len(result["results"]) == 2 and result["results"][0]["length"] > 0
    doc = json.loads(await runtime.call_rpc("bench.json", ctx, '{"items":[{"score":1,"tag":"a"}]}'))
    assert doc == {"items": [{"score": 3, "tag": "A"}], "seen": 1, "server": "bench"}
