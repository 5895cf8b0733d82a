"""Hot reload: build off to the side, swap atomically, keep the old generation on any failure."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid

import pytest

from host.runtime import CallContext, HostOps, LoadError, RpcError, RpcNotFound
from tests.runtime.helpers import PER_VM, LoadEvents

V1 = {
    "main.lua": """
        local nk = require("nakama")
        nk.register_rpc(function(ctx) return "v1@" .. ctx.runtime_generation end, "version")
    """,
    "extra.lua": """
        local nk = require("nakama")
        nk.register_rpc(function() return "extra" end, "extra")
    """,
}
CTX = CallContext()


def version(n: int) -> str:
    return f'local nk = require("nakama")\nnk.register_rpc(function(ctx) return "v{n}@" .. ctx.runtime_generation end, "version")\n'


@pytest.fixture
async def runtime(tmp_path, runtimes):
    return await runtimes(tmp_path, V1)


async def test_good_change_goes_live_with_a_new_generation(runtime, tmp_path):
    assert await runtime.call_rpc("version", CTX, "") == "v1@1"
    (tmp_path / "main.lua").write_text(version(2))
    result = await runtime.reload()
    assert (result.ok, result.generation, result.errors) == (True, 2, [])
    assert runtime.generation == 2
    assert await runtime.call_rpc("version", CTX, "") == "v2@2"


@pytest.mark.parametrize("source,error", [
    ("local nk = require('nakama')\nnk.register_rpc(function() return 'broken' end, 'version'\n", "main.lua:3: ')' expected (to close '(' at line 2) near '<eof>'"),
    ("local nk = require('nakama')\nlocal cfg = nil\nlocal port = cfg.port\n", "main.lua:3: attempt to index local 'cfg' (a nil value)"),
    ("while true do end", "main.lua: loading failed: call exceeded the 500 ms deadline"),
])
async def test_a_broken_change_is_kept_out(runtime, tmp_path, source, error, caplog):
    (tmp_path / "main.lua").write_text(source)
    result = await runtime.reload()
    assert (result.ok, result.generation, result.errors) == (False, 1, [error])
    assert "runtime generation 2 refused: 1 error in " in caplog.text
    assert f"generation 1 keeps serving\n  errors (1):\n    {error}\n" in caplog.text
    assert await runtime.call_rpc("version", CTX, "") == "v1@1"


async def test_removed_module_rpcs_disappear(runtime, tmp_path):
    (tmp_path / "extra.lua").unlink()
    assert (await runtime.reload()).ok
    assert not runtime.rpc_exists("extra")
    with pytest.raises(RpcNotFound):
        await runtime.call_rpc("extra", CTX, "")


async def test_module_state_starts_fresh_in_a_new_generation(runtime, tmp_path):
    (tmp_path / "counter.lua").write_text(
        'local nk = require("nakama")\nlocal n = 0\nnk.register_rpc(function() n = n + 1 return tostring(n) end, "count")\n'
    )
    await runtime.reload()
    await runtime.call_rpc("count", CTX, "")
    await runtime.reload()
    counts = {await runtime.call_rpc("count", CTX, "") for _ in range(4)}
    assert "1" in counts


async def test_reload_under_concurrent_calls_fails_no_call(runtime, tmp_path):
    stop = asyncio.Event()
    seen: list[str] = []

    async def caller():
        while not stop.is_set():
            seen.append(await runtime.call_rpc("version", CTX, ""))

    callers = [asyncio.create_task(caller()) for _ in range(8)]
    for n in range(2, 6):
        (tmp_path / "main.lua").write_text(version(n))
        assert (await runtime.reload()).ok
        # Calls submitted from now on use the new generation; the callers keep going meanwhile.
        assert await runtime.call_rpc("version", CTX, "") == f"v{n}@{n}"
    stop.set()
    await asyncio.gather(*callers)  # any failed call would raise here
    assert seen[-1] == "v5@5"
    generations = [int(s.split("@")[1]) for s in seen]
    assert all(s == f"v{g}@{g}" for s, g in zip(seen, generations))


async def test_watcher_reloads_once_per_save_burst(tmp_path, runtimes):
    runtime = await runtimes(tmp_path, V1, hot_reload=True)
    # The watcher starts asynchronously: save until it reports (normally the first try).
    for n in range(2, 22):
        waiter = asyncio.create_task(runtime.wait_reload())
        (tmp_path / "main.lua").write_text(version(n))
        done, _ = await asyncio.wait({waiter}, timeout=0.5)
        if done:
            break
        waiter.cancel()
    base = waiter.result().generation
    waiter = asyncio.create_task(runtime.wait_reload())
    for n in (100, 101, 102):  # an editor saving several times in a row
        (tmp_path / "main.lua").write_text(version(n))
    (tmp_path / "notes.txt").write_text("not a module")
    burst = await waiter
    assert (burst.ok, burst.generation) == (True, base + 1)
    assert await runtime.call_rpc("version", CTX, "") == f"v102@{base + 1}"
    # A later save is the very next reload: the burst made one reload, not one per save.
    waiter = asyncio.create_task(runtime.wait_reload())
    (tmp_path / "main.lua").write_text(version(200))
    assert (await waiter).generation == base + 2
    assert await runtime.call_rpc("version", CTX, "") == f"v200@{base + 2}"


async def test_top_level_runs_once_in_each_worker_vm_per_generation(tmp_path, runtimes):
    events = LoadEvents()
    runtime = await runtimes(tmp_path, {"m.lua": PER_VM}, host=events.host, lua_pool_size=2)
    assert len(set(events.loads)) == len(events.loads) == 2  # both workers' VMs, no builder VM
    answers = await asyncio.gather(*[runtime.call_rpc("count", CTX, "") for _ in range(50)])
    assert len(events.loads) == 2  # no call loads anything
    assert {a.split()[0] for a in answers} <= set(events.loads)
    assert (await runtime.reload()).ok
    assert len(set(events.loads)) == len(events.loads) == 4
    answers = await asyncio.gather(*[runtime.call_rpc("count", CTX, "") for _ in range(20)])
    assert {a.split()[0] for a in answers} <= set(events.loads[2:]) and {a.split()[2] for a in answers} == {"2"}


async def test_a_vm_that_fails_to_load_keeps_the_old_generation_everywhere(runtime, tmp_path):
    pool = runtime._pool
    load = pool.load
    builds: list[int] = []
    lock = threading.Lock()

    def one_vm_fails(number, modules, outbox):
        # as when one VM's load hits the deadline under load: the other VM loads fine (the
        # first VM is built alone, so the second one fails here; a failing first VM is the
        # next test's case)
        with lock:
            builds.append(number)
            second = len(builds) == 2
        if second:
            raise LoadError(["main.lua:2: call exceeded the 500 ms deadline"])
        return load(number, modules, outbox)

    pool.load = one_vm_fails
    (tmp_path / "main.lua").write_text(version(2))
    result = await runtime.reload()
    assert (result.ok, result.generation, result.errors) == (False, 1, ["main.lua:2: call exceeded the 500 ms deadline"])
    assert builds == [2, 2]  # both VMs were built; neither is used
    assert set(await asyncio.gather(*[runtime.call_rpc("version", CTX, "") for _ in range(20)])) == {"v1@1"}
    pool.load = load
    assert (await runtime.reload()).ok
    assert await runtime.call_rpc("version", CTX, "") == "v2@2"


SLOW = """
    local nk = require("nakama")
    nk.register_rpc(function(ctx, session)
      nk.session_disconnect(session)  -- tells the test the call is running
      while nk.localcache_get("go") == nil do end
      return "{v}@" .. ctx.runtime_generation
    end, "slow")
    nk.register_rpc(function(ctx) return "{v}@" .. ctx.runtime_generation end, "version")
"""


async def test_a_call_in_flight_finishes_on_the_generation_it_started_on(tmp_path, runtimes):
    running = asyncio.Event()
    host = HostOps(session_disconnect=lambda session, reason: running.set())
    runtime = await runtimes(tmp_path, {"main.lua": SLOW.replace("{v}", "old")}, host=host, lua_call_timeout_ms=5000)
    slow = asyncio.create_task(runtime.call_rpc("slow", CTX, str(uuid.uuid4())))
    await running.wait()
    (tmp_path / "main.lua").write_text(SLOW.replace("{v}", "new"))
    assert (await runtime.reload()).ok  # built by the free worker while the call runs
    assert await runtime.call_rpc("version", CTX, "") == "new@2"
    assert not slow.done()
    runtime._services.cache.put(b"go", b"1")
    assert await slow == "old@1"
    assert await runtime.call_rpc("version", CTX, "") == "new@2"


async def test_log_lines_carry_the_generation(runtime, tmp_path, caplog):
    (tmp_path / "main.lua").write_text(
        'local nk = require("nakama")\n'
        'nk.register_rpc(function() print("from print") nk.logger_warn("from logger") local t = nil return t.x end, "log")\n'
    )
    assert (await runtime.reload()).ok
    caplog.set_level(logging.INFO)
    with pytest.raises(RpcError):
        await runtime.call_rpc("log", CTX, "")
    lines = [record.getMessage() for record in caplog.records]
    assert "runtime_generation=2 from print" in lines and "runtime_generation=2 from logger" in lines
    assert any(line.startswith("runtime_generation=2 rpc 'log' failed: main.lua:2: attempt to index local 't'") for line in lines)


async def test_reload_of_fifty_modules(tmp_path, runtimes):
    files = {f"games/mod{i:02d}.lua": f'local nk = require("nakama")\nlocal M = {{}}\nfunction M.f(ctx, p) return nk.json_encode({{i = {i}, p = p}}) end\nnk.register_rpc(M.f, "mod{i}")\nreturn M\n' for i in range(50)}
    runtime = await runtimes(tmp_path, files)
    result = await runtime.reload()
    assert result.ok and len(runtime._current.catalog.rpcs) == 50
    assert json.loads(await runtime.call_rpc("MOD7", CTX, "x")) == {"i": 7, "p": "x"}
