"""nk.storage_* from Lua RPCs on a real server: Nakama's argument shapes, returns and texts,
the ⚠ behaviours pinned, and lua_modules/saves.lua end to end."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from host.runtime.context import CallContext
from host.runtime.errors import RpcError
from tests.features.helpers import EVAL, eval_rpc

REPO = Path(__file__).resolve().parents[2]
USER = str(uuid.uuid4())


@pytest.fixture
async def run(engine: str, start_server):
    app = await start_server(engine=engine, modules={"eval.lua": EVAL})

    async def run(expr: str) -> dict:
        return await eval_rpc(app, CallContext(user_id=USER, username="alice"), expr)

    return run


async def test_write_read_list_delete_round_trip(run) -> None:
    w = await run(f'nk.storage_write({{{{collection="c", key="k", user_id="{USER}", value={{b=1, a={{x=true}}}}, permission_read=2}}}})')
    (ack,) = w["a"]
    assert set(ack) == {"key", "collection", "user_id", "version"} and ack["user_id"] == USER
    r = await run(f'nk.storage_read({{{{collection="c", key="k", user_id="{USER}"}}}})')
    (obj,) = r["a"]
    assert obj["value"] == {"b": 1, "a": {"x": True}} and obj["version"] == ack["version"]
    assert (obj["permission_read"], obj["permission_write"]) == (2, 1)
    assert isinstance(obj["create_time"], int) and obj["create_time"] == obj["update_time"]
    listed = await run(f'nk.storage_list("{USER}", "c", 10)')
    assert [o["key"] for o in listed["a"]] == ["k"] and "b" not in listed  # cursor nil
    assert await run(f'nk.storage_delete({{{{collection="c", key="k", user_id="{USER}", version="{ack["version"]}"}}}})') == {}
    assert await run(f'nk.storage_read({{{{collection="c", key="k", user_id="{USER}"}}}})') == {"a": {}}


async def test_system_objects_and_value_text(run) -> None:
    (ack,) = (await run('nk.storage_write({{collection="sys", key="cfg", value={z=1, a=2}}})'))["a"]
    assert ack["user_id"] == "00000000-0000-0000-0000-000000000000"
    import hashlib

    assert ack["version"] == hashlib.md5(b'{"a":2,"z":1}').hexdigest()  # Go's json.Marshal: sorted, compact
    (obj,) = (await run('nk.storage_read({{collection="sys", key="cfg"}})'))["a"]
    assert obj["user_id"] == "00000000-0000-0000-0000-000000000000" and obj["value"] == {"a": 2, "z": 1}


async def test_occ_from_lua(run) -> None:
    (ack,) = (await run('nk.storage_write({{collection="c", key="k", value={n=1}, version="*"}})'))["a"]
    again = await run('nk.storage_write({{collection="c", key="k", value={n=2}, version="*"}})')
    assert again["error"].endswith("failed to write storage objects: Storage write rejected - version check failed.")
    assert "a" in await run(f'nk.storage_write({{{{collection="c", key="k", value={{n=2}}, version="{ack["version"]}"}}}})')
    stale = await run(f'nk.storage_delete({{{{collection="c", key="k", version="{ack["version"]}"}}}})')
    assert stale["error"].endswith(
        "failed to remove storage: Storage delete rejected - not found, version check failed, or permission denied.")
    assert await run('nk.storage_delete({{collection="c", key="missing"}})') == {}  # runtime: a no-op


async def test_runtime_bypasses_permissions(run) -> None:
    await run(f'nk.storage_write({{{{collection="c", key="locked", user_id="{USER}", value={{}}, permission_read=0, permission_write=0}}}})')
    assert "a" in await run(f'nk.storage_write({{{{collection="c", key="locked", user_id="{USER}", value={{v=1}}}}}})')
    (obj,) = (await run(f'nk.storage_read({{{{collection="c", key="locked", user_id="{USER}"}}}})'))["a"]
    assert obj["value"] == {"v": 1}
    # ⚠ Nakama: Lua permissions have no range check; the table's CHECK keeps them >= 0.
    assert "a" in await run(f'nk.storage_write({{{{collection="c", key="p7", user_id="{USER}", value={{}}, permission_read=7}}}})')


@pytest.mark.parametrize("expr, text", [
    ('nk.storage_read({{key="k"}})', "bad argument #1 to storage_read (expects collection to be supplied)"),
    ('nk.storage_read({{collection="c"}})', "bad argument #1 to storage_read (expects key to be supplied)"),
    ('nk.storage_read({{collection="", key="k"}})', "bad argument #1 to storage_read (expects collection to be a non-empty string)"),
    ('nk.storage_read({{collection=5, key="k"}})', "bad argument #1 to storage_read (expects collection to be string)"),
    ('nk.storage_read({{collection="c", key="k", user_id=""}})', "bad argument #1 to storage_read (expects user_id to be a valid ID)"),
    ('nk.storage_read({"x"})', "bad argument #1 to storage_read (expects a valid set of keys)"),
    ('nk.storage_write({{collection="c", key="k"}})', "bad argument #1 to storage_write (expects value to be supplied)"),
    ('nk.storage_write({{collection="c", key="k", value="s"}})', "bad argument #1 to storage_write (expects value to be table)"),
    ('nk.storage_write({{collection="c", key="k", value={}, version=""}})', "bad argument #1 to storage_write (expects version to be a non-empty string)"),
    ('nk.storage_write({{collection="c", key="k", value={}, permission_read="1"}})', "bad argument #1 to storage_write (expects permission_read to be number)"),
    ('nk.storage_delete({{collection="c", key=""}})', "bad argument #1 to storage_delete (expects key to be a non-empty string)"),
    ('nk.storage_list("", "c")', "bad argument #3 to storage_list (number expected, got nil)"),
    ('nk.storage_list("", "c", -1)', "bad argument #3 to storage_list (limit must not be negative)"),
    ('nk.storage_list("nope", "c", 1)', "bad argument #1 to storage_list (expects empty or a valid user ID)"),
    ('nk.storage_list("", "c", 1, "%%bad")', "failed to list storage objects: Malformed cursor was used."),
])
async def test_argument_errors(run, expr: str, text: str) -> None:
    assert (await run(expr))["error"].endswith(text)


async def test_a_single_object_without_the_list_is_a_silent_no_op(run) -> None:
    # ⚠ Nakama: a table with no array part reads and writes nothing, and says nothing.
    assert await run('nk.storage_write({collection="c", key="k", value={}})') == {"a": {}}
    assert await run('nk.storage_read({collection="c", key="k"})') == {"a": {}}
    assert await run('nk.storage_list("", "c", 10)') == {"a": {}}
    assert await run('nk.storage_list("", "c", 0)') == {"a": {}}


async def test_list_pages_and_caller_rules(run) -> None:
    other = str(uuid.uuid4())
    writes = ", ".join(f'{{collection="p", key="k{i}", user_id="{other}", value={{}}, permission_read={i % 3}}}' for i in range(5))
    await run(f"nk.storage_write({{{writes}}})")
    keys, cursor = [], None
    while True:
        page = await run(f'nk.storage_list("{other}", "p", 2, {json.dumps(cursor) if cursor else "nil"})')
        keys += [o["key"] for o in page["a"]]
        cursor = page.get("b")
        if cursor is None:
            break
    assert keys == ["k0", "k3", "k1", "k4", "k2"]  # the runtime sees every read level, by (read, key)
    as_caller = await run(f'nk.storage_list("{other}", "p", 10, nil, "{USER}")')  # the client rules for USER
    assert [o["key"] for o in as_caller["a"]] == ["k2"]


@pytest.mark.parametrize("engine", ["sqlite"])
async def test_saves_module(engine: str, start_server) -> None:
    app = await start_server(engine=engine, modules={name: (REPO / "lua_modules" / name).read_text() for name in ("saves.lua", "payload.lua")})
    ctx = CallContext(user_id=USER, username="alice")
    call = app.services.runtime.call_rpc
    put = json.loads(await call("saves.put", ctx, json.dumps({"slot": "a", "data": {"level": 3}})))
    assert json.loads(await call("saves.get", ctx, '{"slot": "a"}')) == {"data": {"level": 3}, "version": put["version"]}
    await call("saves.put", ctx, json.dumps({"slot": "b", "data": {}, "version": "*"}))
    with pytest.raises(RpcError) as info:
        await call("saves.put", ctx, json.dumps({"slot": "a", "data": {"level": 4}, "version": "0" * 32}))
    assert info.value.code == 9 and "version check failed" in info.value.message
    assert json.loads(await call("saves.list", ctx, "{}")) == {"slots": ["a", "b"]}
    await call("saves.drop", ctx, '{"slot": "a"}')
    assert json.loads(await call("saves.get", ctx, '{"slot": "a"}')) == {}
