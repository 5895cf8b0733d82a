"""Hostile modules from issue 13 that used to crash or freeze the whole process.

Each runs in a subprocess (tests/runtime/hostile/serve.py): a SIGSEGV or a deadlock then fails
the test (its return code, or the subprocess timeout) instead of taking pytest down. Every
case asserts that the hostile call fails with a Lua error and a bystander RPC is still served.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]
# Generous: a healthy run takes ~1 s; only a deadlock comes near this.
_SUBPROCESS_TIMEOUT = 120


def run_hostile(tmp_path: Path, body: str, payload: str = "") -> dict:
    """Serve a module with RPC "bomb" (``body``) and "ok"; call bomb, then ok twice."""
    source = 'local nk = require("nakama")\nnk.register_rpc(function() return "ok" end, "ok")\n'
    source += "nk.register_rpc(function(ctx, payload)\n" + textwrap.dedent(body) + '\nend, "bomb")\n'
    (tmp_path / "m.lua").write_text(source)
    done = subprocess.run(
        [sys.executable, "-m", "tests.runtime.hostile.serve", str(tmp_path), "bomb", payload],
        cwd=ROOT, capture_output=True, text=True, timeout=_SUBPROCESS_TIMEOUT,
    )
    assert done.returncode == 0, f"the server process died (rc {done.returncode}): {done.stderr[-2000:]}"
    out = orjson.loads(done.stdout.strip().splitlines()[-1])
    assert out["bystander"] == "ok" and out["bystander_again"] == "ok"
    return out


C_NESTING = {
    "gsub callback": 'local function f(c) return (("ab"):gsub(".", f)) end\nreturn (("ab"):gsub(".", f))',
    "gsub table": 'local mt = {}\nmt.__index = function() return (("ab"):gsub(".", setmetatable({}, mt))) end\n'
                  'return (("ab"):gsub(".", setmetatable({}, mt)))',
    "coroutine.wrap": "local function f() return coroutine.wrap(f)() end\nreturn f()",
    "coroutine.resume": "local function f() local ok, e = coroutine.resume(coroutine.create(f)) error(e, 0) end\nf()",
    "sort in coroutines": "local function f() table.sort({3, 2, 1}, function(a, b) coroutine.wrap(f)() return a < b end) end\nf()",
    "format in coroutines": """
        local mt, k = {}, 0
        mt.__tostring = function()
          k = k + 1
          if k % 2000 == 0 then return coroutine.wrap(function() return string.format("%s", setmetatable({}, mt)) end)() end
          return string.format("%s", setmetatable({}, mt))
        end
        return tostring(setmetatable({}, mt))""",
}


@pytest.mark.parametrize("body", C_NESTING.values(), ids=C_NESTING.keys())
def test_deep_c_nesting_fails_with_a_lua_error_not_a_crash(tmp_path, body):
    out = run_hostile(tmp_path, body)
    assert "C call nesting deeper than 200 levels" in out["error"]


def test_c_nesting_below_the_cap_and_after_caught_errors_still_works(tmp_path):
    from tests.runtime.helpers import call, rpc_vm

    vm = rpc_vm(tmp_path, """
        local function deep(n) if n == 0 then return "x" end return (("a"):gsub(".", function() return deep(n - 1) end)) end
        assert(deep(150) == "x")
        local w = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
        assert(w(1) == 2 and w(5) == 10)
        local ok, e = pcall(coroutine.wrap(function() error("inner") end))
        assert(not ok and e:find("inner"), e)
        -- errors unwinding through counted C calls do not leak nesting
        for i = 1, 1000 do
          pcall(string.gsub, "a", ".", function() error("x") end)
          coroutine.resume(coroutine.create(function() table.sort({2, 1}, function() error("y") end) end))
          pcall(coroutine.wrap(function() string.format("%s", setmetatable({}, {__tostring = function() error("z") end})) end))
        end
        return deep(150) .. string.format("%d", 7)
    """)
    assert call(vm) == "x7"


MEMORY = {
    "json_decode near the cap": """
        local nk = require("nakama")
        local doc = "[" .. string.rep("[],", 1100000) .. "[]]"
        local hold = {}
        pcall(function() while true do hold[#hold + 1] = {} end end)
        hold[#hold], hold[#hold - 1] = nil, nil
        return tostring(#nk.json_decode(doc))""",
    "json_decode filling the heap": """
        local nk = require("nakama")
        local doc = "[" .. string.rep("[],", 1100000) .. "[]]"
        local keep = {}
        for i = 1, 200 do keep[i] = nk.json_decode(doc) end""",
    "localcache results filling the heap": """
        local nk = require("nakama")
        nk.localcache_put("big", {string.rep("x", 60000), {1, 2, 3}})
        local keep = {}
        for i = 1, 1e6 do keep[i] = nk.localcache_get("big") end""",
}


@pytest.mark.parametrize("body", MEMORY.values(), ids=MEMORY.keys())
def test_out_of_memory_in_conversion_fails_the_call_not_the_server(tmp_path, body):
    out = run_hostile(tmp_path, body)
    assert out["code"] == 8 and "memory limit of 64 MiB exceeded" in out["error"], out


def test_an_error_object_whose_tostring_fails_is_an_ordinary_rpc_error(tmp_path, caplog):
    from host.runtime.errors import RpcError
    from tests.runtime.helpers import call, rpc_vm

    vm = rpc_vm(tmp_path, 'error(setmetatable({}, {__tostring = function() error("nope") end}))')
    with pytest.raises(RpcError) as raised:
        call(vm)
    assert raised.value.message == "error object's __tostring failed: m.lua:4: nope"
    assert "outside a protected call" not in caplog.text
    assert call(vm, rpc="ok") == "ok"


def test_a_huge_error_message_is_truncated_in_the_reply_and_the_log(tmp_path, caplog):
    from host.runtime.errors import RpcError
    from host.runtime.sandbox import MAX_TEXT_BYTES, Limits
    from tests.runtime.helpers import call, rpc_vm

    vm = rpc_vm(tmp_path, 'error(string.rep("x", 8 * 1024 * 1024))', Limits(timeout_ms=2000, max_memory_mb=64))
    with pytest.raises(RpcError) as raised:
        call(vm)
    assert raised.value.message.endswith("... (8388617 bytes, truncated)")
    assert len(raised.value.message) < MAX_TEXT_BYTES + 100
    assert max(len(r.getMessage()) for r in caplog.records) < MAX_TEXT_BYTES + 200
    assert call(vm, rpc="ok") == "ok"


async def test_an_rpc_id_registered_twice_warns_naming_both_files(tmp_path, runtimes, caplog):
    from host.runtime import CallContext

    runtime = await runtimes(tmp_path, {
        "a.lua": 'require("nakama").register_rpc(function() return "a" end, "Same")',
        "b.lua": 'require("nakama").register_rpc(function() return "b" end, "same")',
    })
    assert await runtime.call_rpc("same", CallContext(), "") == "b"  # the later one wins, as in Nakama
    warnings = [r.getMessage() for r in caplog.records if "overrides" in r.getMessage()]
    assert warnings == ["runtime_generation=1 register_rpc 'same' in b.lua overrides the one in a.lua"]


async def test_a_symlink_out_of_runtime_path_is_refused_and_never_read(tmp_path, runtimes, caplog):
    from host.runtime import CallContext
    from host.runtime.snapshot import snapshot

    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:secret-line\n")
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "real.lua").write_text('return "inside"')
    (modules / "inside.lua").symlink_to(modules / "real.lua")  # a link that stays inside is read
    runtime = await runtimes(modules, {"m.lua": 'require("nakama").register_rpc(function() return require("inside") end, "ok")'})
    (modules / "passwd.lua").symlink_to(secret)
    result = await runtime.reload()
    assert not result.ok
    assert result.errors == ["passwd.lua: symbolic link to a file outside runtime.path is not allowed"]
    assert "secret-line" not in caplog.text
    assert "symbolic link to a file outside runtime.path" in caplog.text
    assert await runtime.call_rpc("ok", CallContext(), "") == "inside"
    assert [m.name for m in snapshot(modules).modules] == ["inside", "m", "real"]


@pytest.mark.parametrize(("build", "expected"), [
    ('local s = string.rep("x", 1024)\nlocal t = {s, s}\nfor i = 1, 20 do t = {t, t} end', "more than 32 MiB of strings"),
    ("local t = {1, 2}\nfor i = 1, 20 do t = {t, t, a = t} end", "more than 250000 values"),
    ("local t = {}\nfor i = 1, 300000 do t[i] = i end", "more than 250000 values"),
], ids=["shared string DAG", "shared table DAG", "wide array"])
def test_a_value_that_expands_in_python_is_refused(tmp_path, build, expected):
    from host.runtime.sandbox import Limits
    from tests.runtime.helpers import call, rpc_vm

    vm = rpc_vm(tmp_path, build + """
        local ok, e = pcall(require("nakama").localcache_put, "k", t)
        return tostring(ok) .. " " .. e""", Limits(timeout_ms=20000, max_memory_mb=64))
    assert call(vm) == f"false localcache_put: value too large to convert: {expected}"
    assert call(vm, rpc="ok") == "ok"


SPIN_AT_LOAD = """
    local nk = require("nakama")
    nk.session_disconnect(nk.uuid_v4(), 1)  -- tells the test a VM of the new generation is loading
    while nk.localcache_get("go") == nil do end  -- a top level that spins (until the test lets go)
    nk.register_rpc(function() return "new" end, "new")
"""


async def test_a_reload_that_spins_does_not_hold_up_the_serving_generation(tmp_path, runtimes):
    from host.runtime import CallContext, HostOps

    loading = asyncio.Event()
    host = HostOps(session_disconnect=lambda session, reason: loading.set())
    runtime = await runtimes(tmp_path, {"m.lua": 'require("nakama").register_rpc(function() return "ok" end, "ok")'},
                             host=host, lua_call_timeout_ms=20000, lua_pool_size=2)
    (tmp_path / "spin.lua").write_text(textwrap.dedent(SPIN_AT_LOAD))
    reload = asyncio.create_task(runtime.reload())
    await asyncio.wait([asyncio.ensure_future(loading.wait()), reload], return_when=asyncio.FIRST_COMPLETED)
    assert not reload.done(), reload.result()
    # every worker serves the old generation while the new one spins in its top level
    answers = await asyncio.gather(*[runtime.call_rpc("ok", CallContext(), "") for _ in range(20)])
    assert answers == ["ok"] * 20 and not reload.done()
    runtime._services.cache.put(b"go", b"1")
    assert (await reload).ok
    assert await runtime.call_rpc("new", CallContext(), "") == "new"


def test_nk_calls_nested_through_index_metamethods_fail_cleanly(tmp_path):
    from host.runtime.sandbox import Limits
    from tests.runtime.helpers import call, rpc_vm

    vm = rpc_vm(tmp_path, """
        local nk = require("nakama")
        local mt = {}
        -- a hole that from_lua reads runs __index, which converts another such table, and so on
        local function mk() local t = setmetatable({}, mt); t[1], t[2], t[4] = 1, 2, 4; return t end
        mt.__index = function() nk.localcache_put("k", mk()) return 1 end
        local ok, e = pcall(nk.localcache_put, "k", mk())
        return e""", Limits(timeout_ms=20000, max_memory_mb=64))
    assert call(vm).endswith("localcache_put: calls nested too deeply")  # every level's caller in front
    assert call(vm, rpc="ok") == "ok"


def test_a_match_at_its_memory_cap_fails_its_ticks_not_the_process():
    done = subprocess.run(
        [sys.executable, "-m", "tests.runtime.hostile.match_fill"], cwd=ROOT, capture_output=True, text=True, timeout=_SUBPROCESS_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    ticks = orjson.loads(done.stdout.strip().splitlines()[-1])["ticks"]
    assert ticks[0] == "ok" and set(ticks[1:]) == {"match_loop aborted: memory limit of 16 MiB exceeded"}
