"""RPCs, hooks and contexts through the Runtime and its worker pool."""

from __future__ import annotations

import asyncio
import json

import pytest

from host.runtime import CallContext, RpcError, RpcNotFound

INVALID = "Runtime function returned invalid data - only allowed one return value of type String/Byte."

RPCS = {"rpcs.lua": """
    local nk = require("nakama")
    nk.register_rpc(function(ctx, payload) return payload end, "Echo.Mixed")
    nk.register_rpc(function() return nil end, "nil")
    nk.register_rpc(function() return 42 end, "number")
    nk.register_rpc(function() return {} end, "table")
    nk.register_rpc(function() return "a", "b" end, "two")
    nk.register_rpc(function() return "\\255\\254" end, "binary")
    nk.register_rpc(function() error("plain failure") end, "plain")
    nk.register_rpc(function() error({"custom failure", 3}) end, "custom")
    nk.register_rpc(function() error({"bad code", 99}) end, "badcode")
    nk.register_rpc(function() error({"only message"}) end, "onlymsg")
    nk.register_rpc(function() local t = nil return t.x end, "index")
    nk.register_rpc(function() return require("helper").fail() end, "elsewhere")
    nk.register_rpc(function(ctx) return nk.json_encode(ctx) end, "ctx")
    nk.register_rpc(function() return nk.json_encode(nk.get_context()) end, "getctx")
    nk.register_rpc(function() return nk.localcache_get("once") end, "once")
    nk.run_once(function(ctx) nk.localcache_put("once", ctx.execution_mode) end)
    nk.run_once(function(ctx) error("a second run_once must never run") end)
    nk.register_shutdown(function(ctx) nk.localcache_put("shutdown", ctx.execution_mode) end)
""", "helper.lua": """
    return { fail = function() error("helper broke") end }
"""}


@pytest.fixture
async def runtime(tmp_path, runtimes):
    return await runtimes(tmp_path, RPCS, env=["region=eu", "mode=test"])


async def test_ids_are_case_insensitive(runtime):
    assert runtime.rpc_exists("echo.mixed") and runtime.rpc_exists("ECHO.MIXED")
    assert await runtime.call_rpc("ECHO.mixed", CallContext(), "hi") == "hi"


async def test_unknown_rpc(runtime):
    assert not runtime.rpc_exists("nope")
    with pytest.raises(RpcNotFound):
        await runtime.call_rpc("nope", CallContext(), "")


@pytest.mark.parametrize("rpc,expected", [("nil", None), ("two", "a")])
async def test_return_values(runtime, rpc, expected):
    assert await runtime.call_rpc(rpc, CallContext(), "") == expected


@pytest.mark.parametrize("rpc", ["number", "table", "binary"])
async def test_invalid_return_values(runtime, rpc):
    with pytest.raises(RpcError) as info:
        await runtime.call_rpc(rpc, CallContext(), "")
    assert (info.value.message, info.value.code) == (INVALID, 13)


@pytest.mark.parametrize("rpc,message,code", [
    ("plain", "plain failure", 13),
    ("custom", "custom failure", 3),
    ("badcode", "bad code", 13),
    ("onlymsg", "only message", 13),
    ("index", "attempt to index local 't' (a nil value)", 13),
    # Raised in another file: Nakama keeps the prefix, and so do we.
    ("elsewhere", "helper.lua:2: helper broke", 13),
])
async def test_errors_become_structured_without_stack_traces(runtime, rpc, message, code, caplog):
    with pytest.raises(RpcError) as info:
        await runtime.call_rpc(rpc, CallContext(), "")
    assert (info.value.message, info.value.code) == (message, code)
    assert "stack traceback" not in info.value.message
    if rpc == "custom":
        assert "custom failure" not in caplog.text  # custom errors are not logged
    if rpc == "plain":
        assert "rpcs.lua:9: plain failure" in caplog.text and "stack traceback" in caplog.text


async def test_context_fields(runtime):
    ctx = CallContext(
        user_id="u-1", username="alice", vars={"tier": "gold"}, user_session_exp=1700000000,
        session_id="s-1", lang="en", headers={"X-Test": ["1", "2"]}, query_params={"q": ["a"]},
        client_ip="10.0.0.1", client_port="5555", trace_id="trace",
    )
    got = json.loads(await runtime.call_rpc("ctx", ctx, ""))
    assert got == {
        "env": {"region": "eu", "mode": "test"}, "execution_mode": "rpc", "node": "nakama", "version": "nkhost",
        "runtime_generation": 1, "headers": {"X-Test": ["1", "2"]}, "query_params": {"q": ["a"]},
        "user_id": "u-1", "username": "alice", "vars": {"tier": "gold"}, "user_session_exp": 1700000000,
        "session_id": "s-1", "lang": "en", "client_ip": "10.0.0.1", "client_port": "5555", "trace_id": "trace",
    }


async def test_http_key_context_has_no_user_fields(runtime):
    got = json.loads(await runtime.call_rpc("ctx", CallContext(), ""))
    assert not {"user_id", "username", "session_id", "vars", "lang", "trace_id"} & set(got)
    assert got["headers"] == {} and got["query_params"] == {}


async def test_get_context_in_a_call_is_the_call_context(runtime):
    got = json.loads(await runtime.call_rpc("getctx", CallContext(user_id="u"), ""))
    assert got["user_id"] == "u" and got["execution_mode"] == "rpc"


async def test_run_once_runs_once_per_runtime(runtime):
    results = await asyncio.gather(*[runtime.call_rpc("once", CallContext(), "") for _ in range(10)])
    assert set(results) == {"run_once"}


async def test_shutdown_functions_run_on_close(tmp_path, runtimes):
    runtime = await runtimes(tmp_path, RPCS)
    cache = runtime._services.cache
    await runtime.close()
    assert cache.get(b"shutdown") == b"shutdown"


async def test_concurrent_calls_all_complete(runtime):
    payloads = [str(i) for i in range(500)]
    assert await asyncio.gather(*[runtime.call_rpc("echo.mixed", CallContext(), p) for p in payloads]) == payloads


HOOKS = {"hooks.lua": """
    local nk = require("nakama")
    nk.register_req_before(function(ctx, req)
      if req.id == "reject" then return nil end
      req.id = req.id .. "-seen"
      req.mode = ctx.execution_mode
      return req
    end, "AuthenticateDevice")
    nk.register_req_after(function(ctx, res, req) nk.localcache_put("after", res.token .. "/" .. req.id .. "/" .. ctx.execution_mode) end, "authenticatedevice")
    nk.register_rt_before(function(ctx, env) if env.channel_join.target == "forbidden" then return nil end return env end, "ChannelJoin")
    nk.register_rt_before(function(ctx, env) error({"no pings", 7}) end, "Ping")
    nk.register_rt_before(function(ctx, env) return 5 end, "Pong")
    nk.register_rt_after(function(ctx, out, env) nk.localcache_put("rt_after", nk.json_encode({out, env})) end, "ChannelJoin")
"""}


async def test_hooks(tmp_path, runtimes):
    runtime = await runtimes(tmp_path, HOOKS)
    ctx = CallContext(user_id="u")
    assert runtime.has_hook("req_before", "authenticatedevice") and runtime.has_hook("rt_after", "CHANNELJOIN")
    assert not runtime.has_hook("req_after", "AuthenticateCustom")
    assert await runtime.before_req("AuthenticateDevice", ctx, {"id": "dev", "create": True}) == {"id": "dev-seen", "create": True, "mode": "before"}
    assert await runtime.before_req("AuthenticateDevice", ctx, {"id": "reject"}) is None
    await runtime.after_req("AuthenticateDevice", ctx, {"token": "t"}, {"id": "dev"})
    assert runtime._services.cache.get(b"after") == b"t/dev/after"
    envelope = {"cid": "1", "channel_join": {"target": "room", "type": 1}}
    assert await runtime.before_rt("ChannelJoin", ctx, envelope) == envelope
    assert await runtime.before_rt("channeljoin", ctx, {"channel_join": {"target": "forbidden"}}) is None
    with pytest.raises(RpcError) as info:
        await runtime.before_rt("Ping", ctx, {"ping": {}})
    assert (info.value.message, info.value.code) == ("no pings", 7)
    with pytest.raises(RpcError, match="before hook must return a table or nil"):
        await runtime.before_rt("Pong", ctx, {"pong": {}})
    await runtime.after_rt("ChannelJoin", ctx, None, envelope)
    assert json.loads(runtime._services.cache.get(b"rt_after")) == [None, envelope]  # {nil, env}: an array, hole as null
    # No hook registered: the request passes through unchanged.
    assert await runtime.before_req("AuthenticateCustom", ctx, {"id": "x"}) == {"id": "x"}


# ctx.headers / query_params / vars cross as one flat array and are rebuilt in the prelude
# (sandbox.py _ctx_maps, lua/sandbox.lua make_ctx). This dump is exact for any bytes: every
# string is length-prefixed, and it fails on anything but the shapes Nakama has.
CTX_DUMP = {"dump.lua": """
    local nk = require("nakama")
    local function str(s) assert(type(s) == "string", "not a string: " .. type(s)) return #s .. ":" .. s end
    local function dump(t, multi)
      assert(type(t) == "table")
      local names, out = {}, {}
      for k in pairs(t) do names[#names + 1] = k end
      table.sort(names)
      for _, k in ipairs(names) do
        out[#out + 1] = str(k)
        local v = t[k]
        if multi then
          assert(type(v) == "table")
          local n = 0
          for _ in pairs(v) do n = n + 1 end
          assert(n == #v, "values must be an array")
          out[#out + 1] = "[" .. #v
          for i = 1, #v do out[#out + 1] = str(v[i]) end
        else
          out[#out + 1] = str(v)
        end
      end
      return table.concat(out, "|")
    end
    nk.register_rpc(function(ctx)
      return dump(ctx.headers, true) .. "#" .. dump(ctx.query_params, true) .. "#" ..
        (ctx.vars == nil and "novars" or dump(ctx.vars, false))
    end, "dump")
"""}


def _dump(mapping: dict, multi: bool) -> str:
    def s(text: str) -> str:
        return f"{len(text.encode())}:{text}"

    out = []
    for name in sorted(mapping, key=str.encode):
        out.append(s(name))
        if multi:
            out.append(f"[{len(mapping[name])}")
            out.extend(s(v) for v in mapping[name])
        else:
            out.append(s(mapping[name]))
    return "|".join(out)


TRICKY = ["a\0b", "=", "k=v", "a,b;c", "x\ny\r\n", "", "\0", "|1:|", "é\u2028\U0001f600", "0", "%s%n"]


async def test_context_maps_round_trip_any_bytes_and_keep_order(tmp_path, runtimes):
    runtime = await runtimes(tmp_path, CTX_DUMP)
    headers = {
        "X-Multi": ["first", "second", "third", "second"],
        "X-Tricky": TRICKY,
        "X\0Name=1": ["v\0=\0v"],
        "Empty-List": [],
        "Single": ["\0" * 3],
        "2": ["numeric-looking name"],
    }
    query = {"q": ["a", "b\0c", "=d"], "\0": ["\0"], "x": ["1"]}
    variables = {"tier": "gold", "k\0=": "v\0=", "empty": ""}
    ctx = CallContext(user_id="u-1", username="alice", vars=variables, headers=headers, query_params=query)
    got = await runtime.call_rpc("dump", ctx, "")
    assert got == f"{_dump(headers, True)}#{_dump(query, True)}#{_dump(variables, False)}"
    # Without a user there are no vars, as before; without maps, empty tables.
    got = await runtime.call_rpc("dump", CallContext(vars=variables, query_params=query), "")
    assert got == f"#{_dump(query, True)}#novars"
    assert await runtime.call_rpc("dump", CallContext(user_id="u"), "") == "##novars"


async def test_a_value_cannot_inject_entries(tmp_path, runtimes):
    """A value that looks like the encoding's own structure (a name, a count) stays one value."""
    runtime = await runtimes(tmp_path, CTX_DUMP)
    headers = {"A": ["B", "1", "C"], "D": ["2"]}
    query = {"q": ["X", "3", "Y", "Z", "W"]}
    got = await runtime.call_rpc("dump", CallContext(user_id="u", vars={"a": "b"}, headers=headers, query_params=query), "")
    assert got == f"{_dump(headers, True)}#{_dump(query, True)}#{_dump({'a': 'b'}, False)}"


async def test_http_and_socket_contexts_look_as_before(runtime):
    http = CallContext(
        headers={"Accept": ["*/*"], "User-Agent": ["bench/1.0"], "X-Many": ["1", "2"]}, query_params={"unwrap": ["true"]},
        client_ip="127.0.0.1", client_port="5555", trace_id="t-1",
    )
    got = json.loads(await runtime.call_rpc("ctx", http, ""))
    assert got == {
        "env": {"region": "eu", "mode": "test"}, "execution_mode": "rpc", "node": "nakama", "version": "nkhost",
        "runtime_generation": 1, "headers": {"Accept": ["*/*"], "User-Agent": ["bench/1.0"], "X-Many": ["1", "2"]},
        "query_params": {"unwrap": ["true"]}, "client_ip": "127.0.0.1", "client_port": "5555", "trace_id": "t-1",
    }
    socket = CallContext(
        user_id="u-1", username="alice", user_session_exp=1700000000, session_id="s-1", lang="en",
        client_ip="10.0.0.1", client_port="5555", trace_id="t-2",
    )
    got = json.loads(await runtime.call_rpc("ctx", socket, ""))
    assert got == {
        "env": {"region": "eu", "mode": "test"}, "execution_mode": "rpc", "node": "nakama", "version": "nkhost",
        "runtime_generation": 1, "headers": {}, "query_params": {}, "user_id": "u-1", "username": "alice",
        "user_session_exp": 1700000000, "session_id": "s-1", "lang": "en", "client_ip": "10.0.0.1",
        "client_port": "5555", "trace_id": "t-2",
    }
    # An HTTP call with a Bearer token: user and vars, no session.
    bearer = CallContext(user_id="u-1", username="alice", vars={"a": "b"}, user_session_exp=1, headers={"A": ["b"]})
    got = json.loads(await runtime.call_rpc("ctx", bearer, ""))
    assert got["vars"] == {"a": "b"} and got["headers"] == {"A": ["b"]} and got["query_params"] == {}
    assert "session_id" not in got and "lang" not in got


async def test_context_values_that_are_not_strings_are_refused(runtime, caplog):
    """The flat array is not converted recursively, so a container must never reach it."""
    for ctx in (
        CallContext(headers={"A": [{"x": "y"}]}),
        CallContext(headers={"A": "not a list"}),
        CallContext(user_id="u", vars={"a": ["b"]}),
    ):
        with pytest.raises(RpcError, match="internal runtime error"):
            await runtime.call_rpc("ctx", ctx, "")
    assert "cannot pass a dict to Lua" in caplog.text and "cannot pass a list to Lua" in caplog.text
    # A tuple of values is a list, as before.
    got = json.loads(await runtime.call_rpc("ctx", CallContext(headers={"A": ("1", "2")}), ""))
    assert got["headers"] == {"A": ["1", "2"]}
