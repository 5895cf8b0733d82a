"""Storage objects, both engines: every rule of the core, then the REST doors over a real
server (codes, texts, shapes, hooks, permissions), concurrency and kill -9 durability."""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from host.errors import ApiError
from host.features.storage.core import (
    DELETE_REJECTED,
    NIL,
    PERMISSION_REJECTED,
    VERSION_REJECTED,
    ObjectId,
    StorageCore,
    WriteOp,
)
from tests.conftest import database_address
from tests.e2e.harness import free_port, wait_healthy
from tests.net.helpers import http

REPO = Path(__file__).resolve().parents[2]
ALICE, BOB = str(uuid.uuid4()), str(uuid.uuid4())


@pytest.fixture
async def core(engine: str, new_database) -> StorageCore:
    return StorageCore(await new_database(engine))


def op(key: str, value: dict | str = None, owner: str = ALICE, **kw) -> WriteOp:
    text = value if isinstance(value, str) else json.dumps(value if value is not None else {"k": key})
    return WriteOp("c", key, owner, text, **kw)


async def rejected(call, message: str) -> None:
    with pytest.raises(ApiError) as info:
        await call
    assert (info.value.code, info.value.message) == (3, message)


# Core rules -----------------------------------------------------------------------------


async def test_version_is_md5_of_the_text_as_written(core: StorageCore) -> None:
    text = '{"b": 1,   "a": [1, 2]}'
    (ack,) = await core.write([op("k", text)], ALICE)
    assert ack.version == hashlib.md5(text.encode()).hexdigest() and ack.user_id == ALICE
    (obj,) = await core.read([ObjectId("c", "k", ALICE)], ALICE)
    assert json.loads(obj.value) == {"b": 1, "a": [1, 2]} and obj.version == ack.version
    assert (obj.permission_read, obj.permission_write) == (1, 1)
    assert obj.create_time == ack.create_time


async def test_occ_star_hash_and_empty(core: StorageCore) -> None:
    (first,) = await core.write([op("k", {"v": 1}, version="*")], ALICE)
    await rejected(core.write([op("k", {"v": 2}, version="*")], ALICE), VERSION_REJECTED)
    await rejected(core.write([op("k", {"v": 2}, version="0" * 32)], ALICE), VERSION_REJECTED)
    (second,) = await core.write([op("k", {"v": 2}, version=first.version)], ALICE)
    await rejected(core.write([op("k", {"v": 3}, version=first.version)], ALICE), VERSION_REJECTED)  # stale
    await rejected(core.write([op("missing", {"v": 1}, version=second.version)], ALICE), VERSION_REJECTED)
    (third,) = await core.write([op("k", {"v": 3})], ALICE)  # no version: last write wins
    assert len({first.version, second.version, third.version}) == 3
    (obj,) = await core.read([ObjectId("c", "k", ALICE)], None)
    assert json.loads(obj.value) == {"v": 3}


async def test_identical_rewrite_keeps_the_old_times(engine: str, new_database) -> None:
    clock = iter([100.0, 200.0, 300.0])
    core = StorageCore(await new_database(engine), clock=lambda: next(clock))
    (a,) = await core.write([op("k", {"v": 1})], ALICE)
    (b,) = await core.write([op("k", {"v": 1})], ALICE)
    assert (b.create_time, b.update_time) == (a.create_time, a.update_time) == (100_000_000, 100_000_000)
    (c,) = await core.write([op("k", {"v": 1}, permission_read=2)], ALICE)
    assert (c.create_time, c.update_time) == (100_000_000, 300_000_000)


async def test_client_write_and_delete_need_write_permission(core: StorageCore) -> None:
    await core.write([op("locked", permission_write=0)], None)  # server code may
    await rejected(core.write([op("locked")], ALICE), PERMISSION_REJECTED)
    (obj,) = await core.read([ObjectId("c", "locked", ALICE)], None)
    await rejected(core.write([op("locked", version=obj.version)], ALICE), PERMISSION_REJECTED)
    await rejected(core.delete([ObjectId("c", "locked", ALICE)], ALICE), DELETE_REJECTED)
    await core.write([op("locked", {"v": 9})], None)  # the runtime bypasses permissions
    await core.delete([ObjectId("c", "locked", ALICE)], None)
    assert await core.read([ObjectId("c", "locked", ALICE)], None) == []


async def test_a_batch_is_atomic_and_acks_come_in_request_order(core: StorageCore) -> None:
    await core.write([op("b", version="*")], ALICE)
    await rejected(core.write([op("z"), op("a"), op("b", version="*")], ALICE), VERSION_REJECTED)
    assert await core.read([ObjectId("c", "z", ALICE), ObjectId("c", "a", ALICE)], None) == []
    acks = await core.write([op("z"), op("a"), op("m", owner=BOB)], None)
    assert [(a.key, a.user_id) for a in acks] == [("z", ALICE), ("a", ALICE), ("m", BOB)]
    await rejected(core.delete([ObjectId("c", "a", ALICE), ObjectId("c", "nope", ALICE)], ALICE), DELETE_REJECTED)
    assert len(await core.read([ObjectId("c", "a", ALICE)], None)) == 1  # the batch changed nothing


async def test_read_permissions(core: StorageCore) -> None:
    await core.write([op("r0", permission_read=0), op("r1", permission_read=1), op("r2", permission_read=2)], None)
    await core.write([op("sys", owner=NIL, permission_read=2), op("sys1", owner=NIL, permission_read=1)], None)
    ids = [ObjectId("c", k, ALICE) for k in ("r0", "r1", "r2")] + [ObjectId("c", "sys", NIL), ObjectId("c", "sys1", NIL)]
    assert sorted(o.key for o in await core.read(ids, ALICE)) == ["r1", "r2", "sys"]  # read 0: server only
    assert sorted(o.key for o in await core.read(ids, BOB)) == ["r2", "sys"]
    assert sorted(o.key for o in await core.read(ids, None)) == ["r0", "r1", "r2", "sys", "sys1"]
    (sys_obj,) = [o for o in await core.read(ids, BOB) if o.key == "sys"]
    assert sys_obj.user_id == NIL


async def test_delete_rules(core: StorageCore) -> None:
    (ack,) = await core.write([op("k")], ALICE)
    await rejected(core.delete([ObjectId("c", "missing", ALICE)], ALICE), DELETE_REJECTED)  # ⚠ Nakama
    await core.delete([ObjectId("c", "missing", ALICE)], None)  # runtime, no version: a no-op
    await rejected(core.delete([ObjectId("c", "missing", ALICE, "*")], None), DELETE_REJECTED)
    await rejected(core.delete([ObjectId("c", "k", ALICE, "0" * 32)], ALICE), DELETE_REJECTED)
    await core.delete([ObjectId("c", "k", ALICE, ack.version)], ALICE)
    assert await core.read([ObjectId("c", "k", ALICE)], None) == []


async def test_list_scopes_orders_and_cursors(core: StorageCore) -> None:
    await core.write(
        [op(f"a{i}", owner=ALICE, permission_read=i % 3) for i in range(6)]
        + [op(f"b{i}", owner=BOB, permission_read=2) for i in range(3)], None,
    )

    async def pages(caller, owner, limit):
        keys, cursor = [], ""
        while True:
            objects, cursor = await core.list(caller, owner, "c", limit, cursor)
            keys += [o.key for o in objects]
            if not cursor:
                return keys

    everyone_public = ["a2", "a5", "b0", "b1", "b2"]
    assert await pages(BOB, None, 2) == everyone_public  # ordered by (read, key, user)
    assert await pages(ALICE, ALICE, 2) == ["a1", "a4", "a2", "a5"]  # own: read >= 1, by (read, key)
    assert await pages(BOB, ALICE, 1) == ["a2", "a5"]  # another user's public ones, by key
    assert await pages(None, ALICE, 4) == ["a0", "a3", "a1", "a4", "a2", "a5"]  # server: every level
    assert await pages(None, None, 3) == ["a0", "a3", "a1", "a4", "a2", "a5", "b0", "b1", "b2"]
    assert await core.list(ALICE, None, "c", 0) == ([], "")
    objects, cursor = await core.list(ALICE, None, "c", 5)
    assert len(objects) == 5 and cursor == ""  # exactly a full page: no cursor
    with pytest.raises(ApiError, match="Malformed cursor was used."):
        await core.list(ALICE, None, "c", 1, "not*a*cursor")


async def test_concurrent_conditional_writes_exactly_one_wins(core: StorageCore) -> None:
    (base,) = await core.write([op("hot", {"n": 0})], ALICE)
    results = await asyncio.gather(
        *(core.write([op("hot", {"n": i + 1}, version=base.version)], ALICE) for i in range(100)), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, ApiError) and r.message == VERSION_REJECTED]
    assert len(winners) == 1 and len(losers) == 99
    (obj,) = await core.read([ObjectId("c", "hot", ALICE)], None)
    assert obj.version == winners[0][0].version  # the winner's write is the one kept: no lost update


# REST, over a real server ---------------------------------------------------------------


@pytest.fixture
async def server(engine: str, start_server):
    return await start_server(engine=engine)


async def session(app, custom_id: str) -> str:
    reply = await http(app.port, "POST", "/v2/account/authenticate/custom", json.dumps({"id": custom_id}),
                       {"Authorization": "Basic ZGVmYXVsdGtleTo="})
    return str(reply.json()["token"])


async def call(app, token: str, method: str, path: str, body: object = None) -> tuple[int, dict]:
    reply = await http(app.port, method, path, b"" if body is None else json.dumps(body),
                       {"Authorization": f"Bearer {token}"})
    return reply.status, reply.json()


async def test_rest_write_read_list_delete_shapes(server) -> None:
    alice = await session(server, "alice-0001")
    status, body = await call(server, alice, "PUT", "/v2/storage", {"objects": [
        {"collection": "saves", "key": "slot1", "value": '{"hp": 10}', "permission_read": 2},
        {"collection": "saves", "key": "slot0", "value": '{"hp": 5}', "permission_read": 0, "permission_write": 0},
    ]})
    assert status == 200 and [a["key"] for a in body["acks"]] == ["slot1", "slot0"]
    ack = body["acks"][0]
    assert set(ack) == {"collection", "key", "version", "user_id", "create_time", "update_time"}
    assert ack["version"] == hashlib.md5(b'{"hp": 10}').hexdigest()
    status, body = await call(server, alice, "POST", "/v2/storage", {"object_ids": [
        {"collection": "saves", "key": "slot1", "user_id": ack["user_id"]}, {"collection": "saves", "key": "slot0"},
    ]})
    (obj,) = body["objects"]  # slot0 is read 0 (server only), and not system-owned anyway
    assert json.loads(obj["value"]) == {"hp": 10} and obj["permission_read"] == 2 and obj["permission_write"] == 1
    assert obj["create_time"].endswith("Z") and "." not in obj["create_time"]  # whole seconds
    status, body = await call(server, alice, "GET", "/v2/storage/saves?limit=10")
    assert [o["key"] for o in body["objects"]] == ["slot1"] and "cursor" not in body
    status, body = await call(server, alice, "GET", f"/v2/storage/saves/{ack['user_id']}?limit=10")
    assert [o["key"] for o in body["objects"]] == ["slot1"]  # own list: read >= 1 only
    assert await call(server, alice, "PUT", "/v2/storage/delete", {"object_ids": [
        {"collection": "saves", "key": "slot1", "version": ack["version"]}]}) == (200, {})
    assert await call(server, alice, "POST", "/v2/storage", {"object_ids": [{"collection": "saves", "key": "slot1"}]}) == (200, {})
    assert await call(server, alice, "POST", "/v2/storage", {}) == (200, {})
    assert await call(server, alice, "PUT", "/v2/storage", {"objects": []}) == (200, {})


@pytest.mark.parametrize("objects, message", [
    ([{"collection": "", "key": "k", "value": "{}"}], "Invalid collection or key value supplied. They must be set."),
    ([{"collection": "c", "key": "", "value": "{}"}], "Invalid collection or key value supplied. They must be set."),
    ([{"collection": "c", "key": "k", "value": ""}], "Invalid collection or key value supplied. They must be set."),
    ([{"collection": "c", "key": "k", "value": "{}", "permission_read": 3}], "Invalid Read permission supplied. It must be either 0, 1 or 2."),
    ([{"collection": "c", "key": "k", "value": "{}", "permission_write": 2}], "Invalid Write permission supplied. It must be either 0 or 1."),
    ([{"collection": "c", "key": "k", "value": "[1]"}], "Value must be a JSON object."),
    ([{"collection": "c", "key": "k", "value": "{nope"}], "Value must be a JSON object."),
    ([{"collection": "c", "key": "ok", "value": "{}"}, {"collection": "c", "key": "k", "value": "{}", "version": "*"},
      {"collection": "c", "key": "k", "value": "{}", "version": "*"}], "Storage write rejected - version check failed."),
])
async def test_rest_bad_writes_change_nothing(server, objects, message) -> None:
    alice = await session(server, "alice-0001")
    status, body = await call(server, alice, "PUT", "/v2/storage", {"objects": objects})
    assert (status, body) == (400, {"code": 3, "message": message})
    status, body = await call(server, alice, "GET", "/v2/storage/c?limit=100")
    assert body == {}


async def test_rest_read_list_delete_errors(server) -> None:
    alice = await session(server, "alice-0001")
    bad_ids = "Invalid collection or key value supplied. They must be set."
    bad_user = "Invalid user ID - make sure user ID is a valid UUID."
    assert await call(server, alice, "POST", "/v2/storage", {"object_ids": [{"collection": "c"}]}) == (400, {"code": 3, "message": bad_ids})
    for user in ("nope", NIL):
        assert await call(server, alice, "POST", "/v2/storage", {"object_ids": [{"collection": "c", "key": "k", "user_id": user}]}) == (
            400, {"code": 3, "message": bad_user})
    for query, message in [("limit=0", "Invalid limit - limit must be between 1 and 100."),
                           ("limit=101", "Invalid limit - limit must be between 1 and 100."),
                           ("user_id=nope", bad_user), ("cursor=%21%21", "Malformed cursor was used.")]:
        assert await call(server, alice, "GET", f"/v2/storage/c?{query}") == (400, {"code": 3, "message": message})
    assert await call(server, alice, "PUT", "/v2/storage/delete", {"object_ids": [{"collection": "c", "key": "gone"}]}) == (
        400, {"code": 3, "message": "Storage delete rejected - not found, version check failed, or permission denied."})
    reply = await http(server.port, "POST", "/v2/storage", "{}")
    assert reply.status == 401 and reply.json() == {"code": 16, "message": "Auth token required"}


async def test_rest_list_default_limit_is_one_and_pages(server) -> None:
    alice = await session(server, "alice-0001")
    await call(server, alice, "PUT", "/v2/storage", {"objects": [
        {"collection": "pub", "key": f"k{i}", "value": "{}", "permission_read": 2} for i in range(3)]})
    keys, cursor = [], ""
    while True:
        _, body = await call(server, alice, "GET", "/v2/storage/pub" + (f"?cursor={cursor}" if cursor else ""))
        assert len(body["objects"]) == 1  # ⚠ Nakama's default page is one object
        keys.append(body["objects"][0]["key"])
        cursor = body.get("cursor", "")
        if not cursor:
            break
    assert keys == ["k0", "k1", "k2"]


async def test_rest_other_users_objects(server) -> None:
    alice, bob = await session(server, "alice-0001"), await session(server, "bob-00001")
    _, body = await call(server, alice, "PUT", "/v2/storage", {"objects": [
        {"collection": "c", "key": "mine", "value": "{}", "permission_read": 1},
        {"collection": "c", "key": "public", "value": "{}", "permission_read": 2}]})
    alice_id = body["acks"][0]["user_id"]
    _, body = await call(server, bob, "POST", "/v2/storage", {"object_ids": [
        {"collection": "c", "key": k, "user_id": alice_id} for k in ("mine", "public")]})
    assert [o["key"] for o in body["objects"]] == ["public"]
    _, body = await call(server, bob, "GET", f"/v2/storage/c/{alice_id}?limit=10")
    assert [o["key"] for o in body["objects"]] == ["public"]
    # Bob writes and deletes only his own objects: the same key is his, not Alice's.
    _, body = await call(server, bob, "PUT", "/v2/storage", {"objects": [{"collection": "c", "key": "public", "value": '{"b":1}'}]})
    assert body["acks"][0]["user_id"] != alice_id


async def test_rest_hooks_replace_and_reject(engine: str, start_server) -> None:
    app = await start_server(engine=engine, modules={"hooks.lua": """
        local nk = require("nakama")
        nk.register_req_before(function(ctx, payload)
            payload.objects[1].value = '{"hooked": true}'
            return payload
        end, "WriteStorageObjects")
        nk.register_req_after(function(ctx, out, payload)
            nk.storage_write({{collection = "audit", key = out.acks[1].key, user_id = ctx.user_id, value = {seen = true}}})
        end, "WriteStorageObjects")
        nk.register_req_before(function(ctx, payload) return nil end, "DeleteStorageObjects")
    """})
    alice = await session(app, "alice-0001")
    _, body = await call(app, alice, "PUT", "/v2/storage", {"objects": [{"collection": "c", "key": "k", "value": "{}"}]})
    uid = body["acks"][0]["user_id"]
    _, body = await call(app, alice, "POST", "/v2/storage", {"object_ids": [
        {"collection": "c", "key": "k", "user_id": uid}, {"collection": "audit", "key": "k", "user_id": uid}]})
    values = {o["collection"]: json.loads(o["value"]) for o in body["objects"]}
    assert values == {"c": {"hooked": True}, "audit": {"seen": True}}
    assert await call(app, alice, "PUT", "/v2/storage/delete", {"object_ids": [{"collection": "c", "key": "k"}]}) == (
        404, {"code": 5, "message": "Requested resource was not found."})


# Durability across kill -9 --------------------------------------------------------------


async def test_acknowledged_rest_writes_survive_kill_9(request, engine: str, tmp_path: Path) -> None:
    port = free_port()
    address = database_address(request, engine)
    cmd = [sys.executable, "-m", "host", "--data_dir", str(tmp_path), "--runtime.path", str(tmp_path / "mods"),
           "--socket.address", "127.0.0.1", "--socket.port", str(port), "--runtime.hot_reload", "false",
           "--logger.level", "error", "--database.address", address]
    (tmp_path / "mods").mkdir()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    acked: list[str] = []
    try:
        await asyncio.to_thread(wait_healthy, port, proc)

        app = SimpleNamespace(port=port)
        token = await session(app, "durable-01")
        killed = asyncio.Event()

        async def writer(w: int) -> None:
            for i in range(1000):  # still writing when the server is killed
                try:
                    status, body = await call(app, token, "PUT", "/v2/storage", {"objects": [
                        {"collection": "d", "key": f"w{w}-{i}", "value": json.dumps({"i": i})}]})
                except (OSError, asyncio.IncompleteReadError):
                    return  # the server died under this request: not acknowledged
                if killed.is_set():
                    return
                assert status == 200
                owner.append(body["acks"][0]["user_id"])
                acked.append(f"w{w}-{i}")
                if len(acked) == 40:
                    killed.set()
                    proc.send_signal(signal.SIGKILL)

        owner: list[str] = []
        await asyncio.gather(*(writer(w) for w in range(4)))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert len(acked) >= 40
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await asyncio.to_thread(wait_healthy, port, proc)
        token = await session(app, "durable-01")
        _, body = await call(app, token, "POST", "/v2/storage", {"object_ids": [
            {"collection": "d", "key": key, "user_id": owner[0]} for key in acked]})
        assert sorted(o["key"] for o in body["objects"]) == sorted(acked)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()


async def test_rest_oversize_body_and_malformed_version_change_nothing(engine: str, start_server) -> None:
    app = await start_server(engine=engine, socket__max_request_size_bytes=4096)
    alice = await session(app, "alice-0001")
    _, body = await call(app, alice, "PUT", "/v2/storage", {"objects": [{"collection": "c", "key": "k", "value": '{"v":1}'}]})
    version = body["acks"][0]["version"]
    big = {"objects": [{"collection": "c", "key": "k", "value": json.dumps({"x": "y" * 5000})}]}
    assert await call(app, alice, "PUT", "/v2/storage", big) == (400, {"code": 3, "message": "http: request body too large"})
    for bad in ("not-a-version", version.upper(), version[:-1]):
        assert await call(app, alice, "PUT", "/v2/storage", {"objects": [
            {"collection": "c", "key": "k", "value": '{"v":2}', "version": bad}]}) == (
            400, {"code": 3, "message": "Storage write rejected - version check failed."})
    _, body = await call(app, alice, "GET", f"/v2/storage/c/{body['acks'][0]['user_id']}?limit=10")
    assert [json.loads(o["value"]) for o in body["objects"]] == [{"v": 1}]
