"""Sandbox escape attempts (lua-runtime-notes §1-§2): every one must fail or come back harmless."""

from __future__ import annotations

import pytest

from host.runtime import RpcError
from tests.runtime.helpers import call, rpc_vm, vm_with

ERR = object()

# (name, RPC body, expected): ERR with a substring of the error, or the exact return value.
ESCAPES = [
    ("python global", "return tostring(python)", "nil"),
    ("package.loaded.python", "return tostring(package)", "nil"),
    ("package via require", "return tostring(require('package'))", (ERR, "module 'package' not found")),
    ("python via require", "return tostring(require('python'))", (ERR, "not found")),
    ("nk error is a string, not a Python exception", "local ok, e = pcall(nk.stream_count, 5) return type(e)", "string"),
    ("nk functions are plain Lua closures", "return tostring(getmetatable(nk.stream_send))", "nil"),
    ("nk table is read-only", "nk.stream_send = function() end", (ERR, "read-only table 'nk'")),
    ("nk metatable hijack", "setmetatable(nk, {})", (ERR, "protected metatable")),
    ("nk metatable is hidden", "return tostring(getmetatable(nk))", "false"),
    ("getfenv", "return getfenv(0)", (ERR, "getfenv")),
    ("setfenv", "setfenv(1, {})", (ERR, "setfenv")),
    ("debug.getregistry", "return debug.getregistry()", (ERR, "debug")),
    ("debug.traceback is not exposed", "return type(debug)", "nil"),
    ("require ffi", "return require('ffi')", (ERR, "module 'ffi' not found")),
    ("require io", "return require('io')", (ERR, "module 'io' not found")),
    ("require jit", "return require('jit')", (ERR, "module 'jit' not found")),
    ("require jit.util", "return require('jit.util')", (ERR, "module 'jit.util' not found")),
    ("io.open", "return io.open('/etc/passwd')", (ERR, "io")),
    ("os.execute", "return os.execute('id')", (ERR, "execute")),
    ("os.getenv", "return os.getenv('HOME')", (ERR, "getenv")),
    ("os.exit", "os.exit(1)", (ERR, "exit")),
    ("os table is read-only", "os.execute = print", (ERR, "read-only table 'os'")),
    ("string.dump", "return string.dump(function() end)", (ERR, "dump")),
    ("method string.dump", "return ('x').dump(print)", (ERR, "dump")),
    ("load bytecode", "local f, e = load('\\27LJ\\2\\0') return tostring(f) .. ' ' .. e", "nil attempt to load chunk with wrong mode"),
    ("loadstring bytecode", "local f, e = loadstring('\\27LuaQ') return tostring(f) .. ' ' .. e", "nil attempt to load chunk with wrong mode"),
    ("load from a reader returning bytecode", "local n = 0 local f, e = load(function() n = n + 1 if n == 1 then return '\\27LJ' end end) return tostring(f)", "nil"),
    ("loaded text chunk sees the sandbox, not the real globals", "return tostring(load('return python, io, debug, jit')())", "nil"),
    ("loadfile", "return loadfile('/etc/passwd')", (ERR, "loadfile")),
    ("dofile", "return dofile('/etc/passwd')", (ERR, "dofile")),
    ("jit.on", "jit.on()", (ERR, "jit")),
    ("newproxy finalizer", "return newproxy(true)", (ERR, "newproxy")),
    ("module()", "module('x')", (ERR, "global 'module'")),
    ("require path traversal", "return require('../../etc/passwd')", (ERR, "invalid module name")),
    ("require absolute path", "return require('/etc/passwd')", (ERR, "invalid module name")),
    ("string.rep bomb", "return string.rep('x', 2^30)", (ERR, "over the")),
    ("method string.rep bomb", "return ('x'):rep(2^30)", (ERR, "over the")),
    ("string.rep with separator bomb", "return ('x'):rep(2^26, ('y'):rep(64))", (ERR, "over the")),
    ("collectgarbage stop", "collectgarbage('stop')", (ERR, "only \"count\"")),
    ("collectgarbage count allowed", "return type(collectgarbage('count'))", "number"),
    ("string metatable is hidden", "return tostring(getmetatable(''))", "false"),
    ("string metatable mutation", "getmetatable('').__index = {}", (ERR, "index")),
    ("string library is read-only", "string.upper = function() return 'pwned' end", (ERR, "read-only table 'string'")),
    ("rawset on the string library", "rawset(string, 'upper', print)", (ERR, "read-only")),
    ("table.insert into a library", "table.insert(math, 1)", (ERR, "read-only")),
    ("globals table metatable", "setmetatable(_G, nil)", (ERR, "protected metatable")),
    ("rawset a global after loading", "rawset(_G, 'leak', 1)", (ERR, "read-only")),
    ("assign a global after loading", "leak = 1", (ERR, "global 'leak'")),
    ("assign a library global after loading", "pairs = nil", (ERR, "global 'pairs'")),
    ("assign a global through _G after loading", "_G.print = nil", (ERR, "global 'print'")),
    ("assign a global from a loaded chunk", "assert(load('type = nil'))()", (ERR, "global 'type'")),
    ("the globals view stays empty", "return tostring(next(_G)) .. tostring(rawget(_G, 'print'))", "nilnil"),
    ("table __gc finalizer never runs", "for i = 1, 100 do setmetatable({}, {__gc = function() while true do end end}) end return 'ok'", "ok"),
    ("no Python object reachable from nk.get_context", "local c = nk.get_context() for k, v in pairs(c) do if type(v) == 'userdata' then return k end end return 'clean'", "clean"),
    ("coroutine cannot reach the main thread's globals", "local co = coroutine.create(function() return python, io end) local ok, a, b = coroutine.resume(co) return tostring(a) .. tostring(b)", "nilnil"),
]


@pytest.mark.parametrize("name,body,expected", ESCAPES, ids=[case[0] for case in ESCAPES])
def test_escape_attempt_fails(tmp_path, name, body, expected):
    vm = rpc_vm(tmp_path, body)
    if isinstance(expected, tuple):
        with pytest.raises(RpcError) as info:
            call(vm)
        assert expected[1] in info.value.message
    else:
        assert call(vm) == expected
    assert call(vm, rpc="ok") == "ok"  # the VM still serves calls


def _ctx():
    from host.runtime import CallContext

    return CallContext()


def test_there_are_at_least_25_escape_attempts():
    assert len(ESCAPES) >= 25


def test_one_module_cannot_change_the_string_library_for_another(tmp_path):
    vm, errors = vm_with(tmp_path, {
        "a.lua": """
            local results = {}
            results[1] = pcall(function() string.upper = function() return "pwned" end end)
            results[2] = pcall(rawset, string, "upper", function() return "pwned" end)
            results[3] = pcall(function() getmetatable("").__index = { upper = function() return "pwned" end } end)
        """,
        "b.lua": """
            local nk = require("nakama")
            nk.register_rpc(function() return ("x"):upper() .. string.upper("y") end, "t")
        """,
    })
    assert errors == []
    assert call(vm) == "XY"


def test_module_globals_are_shared_while_loading_then_frozen(tmp_path):
    vm, errors = vm_with(tmp_path, {
        "a.lua": "helper = function() return 'from a' end",
        "b.lua": """
            local nk = require("nakama")
            nk.register_rpc(function() return helper() end, "t")
            nk.register_rpc(function() helper = nil end, "clobber")
        """,
    })
    assert errors == []
    with pytest.raises(RpcError, match="global 'helper'"):
        vm.call("rpc", "clobber", _ctx(), b"")
    assert call(vm) == "from a"


def test_globals_assigned_in_functions_stay_read_only_and_load_time_overrides_are_shared(tmp_path):
    vm, errors = vm_with(tmp_path, {
        "a.lua": """
            tostring = function(v) return "T" end  -- a load-time override every module sees
            local function init() counter = 0 end
            init()                                  -- a function body assigns it, at load time
            _G.via_view = "v"
            assert(load("from_chunk = 'c'"))()
        """,
        "b.lua": """
            local nk = require("nakama")
            nk.register_rpc(function() return tostring(1) .. counter .. via_view .. from_chunk end, "t")
            nk.register_rpc(function() counter = counter + 1 end, "bump")
            nk.register_rpc(function() via_view = 1 end, "clobber")
        """,
    })
    assert errors == []
    assert call(vm) == "T0vc"
    with pytest.raises(RpcError, match="global 'counter'"):
        vm.call("rpc", "bump", _ctx(), b"")
    with pytest.raises(RpcError, match="global 'via_view'"):
        vm.call("rpc", "clobber", _ctx(), b"")
    assert call(vm) == "T0vc"


def test_print_goes_to_the_logger(tmp_path):
    lines = []
    from host.runtime.bridge import Services
    from host.runtime.nk import binder
    from host.runtime.sandbox import Limits, Sandbox
    from host.runtime.snapshot import snapshot

    (tmp_path / "m.lua").write_text("print('hello', 1, true, nil)")
    vm = Sandbox(Limits(), binder(Services("nakama"), None), generation=3, node="n", version="v", env={},
                 log_line=lambda level, message: lines.append((level, message)), claim_once=lambda: False)
    assert vm.load(snapshot(tmp_path).modules) == []
    assert lines == [("info", "hello\t1\ttrue\tnil")]
