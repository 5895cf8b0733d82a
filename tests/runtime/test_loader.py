"""Module discovery and loading, as Nakama does it, minus its double execution."""

from __future__ import annotations

import asyncio
import logging

import pytest

from host.config import RuntimeConfig
from host.runtime import CallContext, LoadError, Runtime, check_modules
from host.runtime.snapshot import snapshot
from tests.runtime.helpers import PER_VM, LoadEvents, call, make_engine, vm_with, write_modules


def test_modules_are_named_by_relative_path_and_sorted(tmp_path):
    write_modules(tmp_path, {"b.lua": "", "games/lobby.lua": "", "a.lua": "", "games/zz/deep.lua": "", "notes.txt": "", ".#tmp.lua": ""})
    snap = snapshot(tmp_path)
    assert [m.name for m in snap.modules] == ["a", "b", "games.lobby", "games.zz.deep"]
    assert [m.path for m in snap.modules] == ["a.lua", "b.lua", "games/lobby.lua", "games/zz/deep.lua"]


def test_bytecode_and_oversized_files_are_refused(tmp_path):
    (tmp_path / "compiled.lua").write_bytes(b"\x1bLJ\x02\x00garbage")
    (tmp_path / "huge.lua").write_bytes(b"-- " + b"x" * (1 << 20))
    assert snapshot(tmp_path).errors == (
        "compiled.lua: precompiled bytecode is not allowed",
        "huge.lua: file is larger than 1 MiB",
    )
    assert check_modules(str(tmp_path)) == list(snapshot(tmp_path).errors)


def test_top_level_runs_once_per_vm_even_when_required_earlier(tmp_path):
    vm, errors = vm_with(tmp_path, {
        "a_first.lua": """
            local lib = require("z_lib")
            local lib2 = require("z_lib")
            assert(lib == lib2)
        """,
        "z_lib.lua": """
            local nk = require("nakama")
            local n = (nk.localcache_get("z_lib_runs") or 0) + 1
            nk.localcache_put("z_lib_runs", n)
            nk.register_rpc(function() return tostring(nk.localcache_get("z_lib_runs")) end, "t")
            return { runs = n }
        """,
    })
    assert errors == []
    assert call(vm) == "1"


def test_require_forms_and_nakama(tmp_path):
    vm, errors = vm_with(tmp_path, {
        "games/lobby.lua": "return { name = 'lobby' }",
        "main.lua": """
            local nk = require("nakama")
            assert(require("games.lobby") == require("games/lobby"))
            nk.register_rpc(function() return require("games.lobby").name end, "t")
        """,
    })
    assert errors == []
    assert call(vm) == "lobby"


def test_require_reads_the_snapshot_not_the_filesystem(tmp_path):
    vm, errors = vm_with(tmp_path, {"main.lua": """
        local nk = require("nakama")
        nk.register_rpc(function() local ok, e = pcall(require, "late") return e end, "t")
    """})
    assert errors == []
    (tmp_path / "late.lua").write_text("return 1")
    assert call(vm) == "module 'late' not found"


@pytest.mark.parametrize("files,expected", [
    ({"games/lobby.lua": "local x = = 1"}, "games/lobby.lua:1: unexpected symbol near '='"),
    ({"games/lobby.lua": "\n\nlocal t = nil\nlocal y = t.x"}, "games/lobby.lua:4: attempt to index local 't' (a nil value)"),
    ({"a.lua": "require('missing')"}, "a.lua:1: module 'missing' not found"),
    ({"a.lua": "require('b')", "b.lua": "require('a')"}, "b.lua:1: require: circular require of 'a'"),
    ({"a.lua": "io.open('x')"}, "a.lua:1: attempt to index global 'io' (a nil value)"),
    ({"a.lua": "error('config missing')"}, "a.lua:1: config missing"),
])
def test_load_errors_name_file_and_line(tmp_path, files, expected):
    write_modules(tmp_path, files)
    assert check_modules(str(tmp_path)) == [expected]


def test_an_error_in_a_required_module_is_reported_once_at_its_source(tmp_path):
    write_modules(tmp_path, {"a.lua": "require('lib')", "lib.lua": "\nerror('broken')"})
    assert check_modules(str(tmp_path)) == ["lib.lua:2: broken"]


def test_check_modules_passes_the_shipped_modules():
    assert check_modules("lua_modules") == []


def test_registration_after_load_is_an_error(tmp_path):
    vm, errors = vm_with(tmp_path, {"m.lua": """
        local nk = require("nakama")
        nk.register_rpc(function() nk.register_rpc(function() end, "late") end, "t")
    """})
    assert errors == []
    with pytest.raises(Exception, match="registrations are only allowed while the modules load"):
        call(vm)


@pytest.mark.parametrize("source,expected", [
    ("nk.register_rpc('x', 'id')", "bad argument #1 to register_rpc (function expected, got string)"),
    ("nk.register_rpc(function() end, '')", "bad argument #2 to register_rpc (expects rpc id)"),
    ("nk.register_rt_before(function() end)", "bad argument #2 to register_rt_before (expects message name)"),
])
def test_registration_argument_errors(tmp_path, source, expected):
    write_modules(tmp_path, {"m.lua": "local nk = require('nakama')\n" + source})
    assert check_modules(str(tmp_path)) == [f"m.lua:2: {expected}"]


async def test_start_raises_load_error_with_file_and_line(tmp_path, runtimes):
    with pytest.raises(LoadError) as info:
        await runtimes(tmp_path, {"ok.lua": "", "bad.lua": "\nlocal = 1"})
    assert info.value.errors == ["bad.lua:2: '<name>' expected near '='"]


async def test_module_state_is_per_vm_and_localcache_is_shared(tmp_path, runtimes):
    events = LoadEvents(holders=2)
    runtime = await runtimes(tmp_path, {"m.lua": PER_VM}, host=events.host, lua_pool_size=2, lua_call_timeout_ms=5000)
    ctx = CallContext()
    held = [asyncio.create_task(runtime.call_rpc("hold", ctx, "")) for _ in range(2)]
    await events.all_holding.wait()  # one call in each VM
    runtime._services.cache.put(b"go", b"1")
    answers = await asyncio.gather(*held, *[runtime.call_rpc("count", ctx, "") for _ in range(40)])
    counts: dict[str, list[int]] = {}
    for answer in answers:
        vm_id, n, _ = answer.split()
        counts.setdefault(vm_id, []).append(int(n))
    # Each VM has its own counter: two sequences that each run 1, 2, 3, ... (one shared
    # counter could not answer 1 twice).
    assert set(counts) == set(events.holding) and len(counts) == 2
    assert all(sorted(seq) == list(range(1, len(seq) + 1)) for seq in counts.values())
    assert sum(len(seq) for seq in counts.values()) == 42
    await runtime.call_rpc("count", ctx, "")  # localcache is shared across VMs
    assert runtime._services.cache.get(b"go") == b"1"


async def test_a_missing_runtime_path_is_created_as_nakama_does(tmp_path, caplog):
    path = tmp_path / "data" / "modules"
    runtime = Runtime(RuntimeConfig(path=str(path), hot_reload=False, lua_pool_size=1), make_engine().manager)
    with caplog.at_level(logging.INFO, logger="nkhost.runtime"):
        await runtime.start()
    try:
        assert path.is_dir() and runtime.generation == 1 and not runtime.rpc_exists("anything")
        assert f"runtime.path {path} did not exist: created it" in caplog.text
    finally:
        await runtime.close()
