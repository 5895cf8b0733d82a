"""Run limits: deadline with an un-swallowable abort, memory cap with OOM recovery, watchdog."""

from __future__ import annotations

import threading
import time

import pytest

from host.config import RuntimeConfig
from host.runtime import CallOutOfMemory, CallTimeout, RpcError, sandbox
from host.runtime.sandbox import Limits, _lua_gethookmask
from tests.runtime.helpers import call, rpc_vm, vm_with

FAST = Limits(timeout_ms=100, max_memory_mb=32)

RUNAWAYS = {
    "while true": "while true do end",
    "numeric for": "for i = 1, 1e15 do end",
    "repeat": "repeat until false",
    "recursion through pcall": "local function f() return pcall(f) end while true do f() end",
    "pcall swallow loop": "while true do pcall(function() while true do end end) end",
    "nested pcall": "while true do pcall(pcall, pcall, function() while true do end end) end",
    "xpcall with a spinning handler": "xpcall(function() while true do end end, function() while true do end end)",
    "xpcall swallow loop": "while true do xpcall(function() while true do end end, function(e) return e end) end",
    "coroutine spin": "coroutine.wrap(function() while true do end end)()",
    "coroutine resume loop": "local co = coroutine.create(function() while true do end end) while true do coroutine.resume(co) end",
    "error object with a looping __tostring": "error(setmetatable({}, {__tostring = function() while true do end end}))",
    "loaded chunk": "load('while true do end')()",
    "quadratic concatenation": "local s = '' while true do s = s .. 'x' if #s > 1e6 then s = '' end end",
    "string.gsub callback": "string.gsub(('x'):rep(100), 'x', function() while true do end end)",
    "table.sort comparator": "table.sort({3, 2, 1}, function(a, b) while true do end end)",
}


@pytest.mark.parametrize("body", RUNAWAYS.values(), ids=list(RUNAWAYS))
def test_runaway_call_fails_with_a_clear_error_and_the_vm_stays_usable(tmp_path, body):
    vm = rpc_vm(tmp_path, body, FAST)
    started = time.monotonic()
    with pytest.raises(CallTimeout) as info:
        call(vm)
    assert time.monotonic() - started < 2.0
    assert info.value.code == 4 and "100 ms deadline" in info.value.message
    assert call(vm, rpc="ok") == "ok"
    with pytest.raises(CallTimeout):  # and the limit still applies to the next call
        call(vm)


def test_runaway_top_level_fails_the_load_naming_the_module(tmp_path):
    vm, errors = vm_with(tmp_path, {"lib/spin.lua": "while true do end"}, FAST)
    assert errors == ["lib/spin.lua: loading failed: call exceeded the 100 ms deadline"]


MEMORY_BOMBS = {
    "table growth": "local t = {} for i = 1, 1e9 do t[i] = {i} end",
    "string growth": "local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(1e6) .. i end",
    "string doubling": "local s = 'x' while true do s = s .. s end",
    "swallowed by pcall then again": "local keep = {} for j = 1, 50 do pcall(function() for i = 1, 1e9 do keep[#keep + 1] = ('y'):rep(1e5) .. i end end) end error('survived')",
}


@pytest.mark.parametrize("body", MEMORY_BOMBS.values(), ids=list(MEMORY_BOMBS))
def test_memory_bomb_fails_the_call_not_the_process(tmp_path, body):
    vm = rpc_vm(tmp_path, body, Limits(timeout_ms=3000, max_memory_mb=16))
    with pytest.raises(RpcError) as info:
        call(vm)
    # Either the cap fails the call, or the script catches every OOM and keeps going.
    assert isinstance(info.value, CallOutOfMemory) or "survived" in info.value.message
    for _ in range(20):  # lupa would PANIC here without the recovery step
        assert call(vm, rpc="ok") == "ok"
    assert vm.lua.get_memory_used() < 8 << 20


def test_memory_error_code_is_resource_exhausted(tmp_path):
    vm = rpc_vm(tmp_path, "local t = {} for i = 1, 1e9 do t[i] = {i} end", Limits(timeout_ms=3000, max_memory_mb=16))
    with pytest.raises(CallOutOfMemory) as info:
        call(vm)
    assert info.value.code == 8 and "16 MiB" in info.value.message


def test_stack_overflow_is_an_ordinary_error(tmp_path):
    vm = rpc_vm(tmp_path, "local function f() return 1 + f() end return f()", FAST)
    with pytest.raises(RpcError, match="stack overflow"):
        call(vm)
    assert call(vm, rpc="ok") == "ok"


def test_jit_is_off_by_default_and_on_when_configured(tmp_path):
    assert Limits.from_config(RuntimeConfig()).jit is False
    for jit in (False, True):
        vm = rpc_vm(tmp_path / str(jit), "local n = 0 for i = 1, 1e5 do n = n + i end return tostring(n)", Limits(timeout_ms=1000, jit=jit))
        assert call(vm) == "5000050000"
        assert vm.jit_on is jit  # jit.status(), read after a hot loop
    # With the JIT off the hook sees every loop; a compiled hot loop would be invisible to it.
    vm = rpc_vm(tmp_path / "off", "local n = 0 for i = 1, 1e6 do n = n + i end while true do end", FAST)
    with pytest.raises(CallTimeout):
        call(vm)


def test_the_deadline_hook_is_off_between_calls(tmp_path):
    vm = rpc_vm(tmp_path, "while true do end", FAST)
    assert _lua_gethookmask(vm._state) == 0
    with pytest.raises(CallTimeout):
        call(vm)  # the watchdog switched the hook on for this call only
    assert _lua_gethookmask(vm._state) == 0
    assert call(vm, rpc="ok") == "ok"


def test_a_lost_hook_switch_on_is_put_back(tmp_path, monkeypatch):
    # lua_sethook from the watchdog thread is a read-modify-write of the VM's hook mask; a __gc
    # finalizer ending on the VM thread at that instant writes its saved mask back and drops it.
    vm = rpc_vm(tmp_path, "while true do end", FAST)
    real = sandbox._lua_sethook
    dropped = []

    def lossy(state, hook, mask, count):
        if hook and not dropped:
            dropped.append(mask)  # this switch-on is overwritten, as by hook_restore
            return 1
        return real(state, hook, mask, count)

    monkeypatch.setattr(sandbox, "_lua_sethook", lossy)
    outcome: list[BaseException] = []
    worker = threading.Thread(target=lambda: outcome.append(pytest.raises(CallTimeout, call, vm).value))
    worker.start()
    worker.join(3.0)
    escaped = worker.is_alive()
    if escaped:  # stop the runaway before failing
        real(vm._state, vm._hookf, 8, 1)
        worker.join()
    assert dropped and not escaped and outcome[0].code == 4


PATTERN_CAP = 64 << 10


@pytest.mark.parametrize("expr", [
    "string.find(s, 'a*b')",
    "s:find('a*b')",
    "s:find('a*b', 1, false)",
    "string.match(s, '.-b')",
    "s:match('(a+)b')",
    "s:gmatch('a*b')",
    "string.gsub(s, 'a*b', '')",
    "s:gsub('%a', 'x')",
])
def test_pattern_functions_refuse_long_subjects(tmp_path, expr):
    vm = rpc_vm(tmp_path, f"local s = ('a'):rep({PATTERN_CAP + 1}) local ok, e = pcall(function() return {expr} end) return e")
    fname = expr.split("(")[0].replace("s:", "string.")
    assert call(vm).endswith(f"{fname}: subject of {PATTERN_CAP + 1} bytes is over the {PATTERN_CAP} byte limit for pattern matching (split it, or use a plain find)")


def test_pattern_functions_below_the_cap_and_plain_finds_are_unchanged(tmp_path):
    vm = rpc_vm(tmp_path, f"""
        local big, s = ('a'):rep(2 ^ 20), ('a'):rep({PATTERN_CAP})
        local out = {{}}
        out[#out + 1] = select(2, s:find('a*$'))
        out[#out + 1] = #(s:match('a+'))
        out[#out + 1] = select(2, s:gsub('a', 'b'))
        out[#out + 1] = tostring(big:find('a.b', 1, true))  -- plain: uncapped
        out[#out + 1] = tostring(string.find(big .. 'xy', 'xy'))  -- no specials: searched plainly
        out[#out + 1] = #nk.json_encode(big)  -- the trusted encoder is not capped
        local n = 0 for w in ('k=v, a=b'):gmatch('(%w+)=(%w+)') do n = n + 1 end
        out[#out + 1] = n
        return table.concat(out, ' ')
    """)
    assert call(vm) == f"{PATTERN_CAP} {PATTERN_CAP} {PATTERN_CAP} nil {(1 << 20) + 1} {(1 << 20) + 2} 2"


async def test_vm_stuck_in_a_c_function_is_retired_and_replaced(tmp_path, runtimes):
    # A backtracking pattern runs inside one C call, where no hook fires.
    runtime = await runtimes(tmp_path, {"m.lua": """
        local nk = require("nakama")
        nk.register_rpc(function() return tostring(string.find(("a"):rep(12000), "a*b")) end, "stuck")
        nk.register_rpc(function() return "ok" end, "ok")
    """}, lua_call_timeout_ms=50, lua_pool_size=1)
    from host.runtime import CallContext

    with pytest.raises(CallTimeout):
        await runtime.call_rpc("stuck", CallContext(), "")
    assert runtime._pool.retired == 1
    assert await runtime.call_rpc("ok", CallContext(), "") == "ok"
