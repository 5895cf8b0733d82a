"""Storage objects with the real @heroiclabs/nakama-js client, on a server of each engine."""

from __future__ import annotations

import hashlib

import pytest

from tests.e2e.harness import ok, results_on_each_engine

pytestmark = pytest.mark.e2e
results =  results_on_each_engine("storage.cjs")


def test_write_then_read(results):
    r = ok(results, "write_read")
    assert r["acks"] == ["slot1", "slot2"] and r["ack_user"]
    assert r["slot1"] == {"hp": 10, "items": ["sword"]}
    assert r["version"] == r["slot1_version"] == hashlib.md5(b'{"hp":10,"items":["sword"]}').hexdigest()
    assert (r["slot1_read"], r["slot2_read"]) == (2, 1)


def test_versions_guard_writes(results):
    r = ok(results, "occ")
    assert r["conflict"] == {"status": 400, "body": {"code": 3, "message": "Storage write rejected - version check failed."}}
    assert r["changed"]


def test_list_and_permissions(results):
    r = ok(results, "list_and_permissions")
    assert r["mine"] == ["slot2", "slot1"]  # own objects with read >= 1, ordered by (read, key)
    assert r["as_bob"] == ["slot1"] and r["bob_reads"] == ["slot1"]
    assert len(r["public_keys"]) == 1


def test_delete(results):
    r = ok(results, "delete")
    assert r["deleted"] is True and r["left"] == 0
    assert r["missing"] == {"status": 400, "body": {"code": 3, "message":
                            "Storage delete rejected - not found, version check failed, or permission denied."}}


def test_lua_module_rpc(results):
    r = ok(results, "lua_rpc")
    assert r["got"]["data"] == {"level": 7} and r["got"]["version"] == r["put_version"]
