"""The real @heroiclabs/nakama-js client against a real nkhost process."""

from __future__ import annotations

import json

import pytest

from tests.e2e.harness import nkhost_process, ok, run_scenarios

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    with nkhost_process(tmp_path_factory) as port:
        yield run_scenarios("scenarios.cjs", port)


def test_device_auth_creates_then_finds_the_account(results):
    r = ok(results, "device_auth")
    assert r["created"] is True and r["again_created"] is False and r["same_user"]
    assert r["has_refresh"] and r["username"].startswith("dev_")


def test_custom_auth(results):
    r = ok(results, "custom_auth")
    assert r["created"] is True and len(r["user_id"]) == 36 and len(r["username"]) == 10


def test_email_auth_and_wrong_password(results):
    r = ok(results, "email_auth")
    assert r["created"] is True and r["same_user"]
    assert r["wrong_password_status"] == 401


def test_session_refresh(results):
    r = ok(results, "refresh")
    assert r["same_user"] and r["new_token"]


def test_get_account(results):
    assert ok(results, "account")["same_user"]


def test_http_rpc_with_session(results):
    assert ok(results, "http_rpc_session")["payload"] == {"hello": "world"}


def test_http_rpc_with_http_key(results):
    assert ok(results, "http_rpc_http_key")["payload"] == {"message": "PONG"}


def test_socket_rpc(results):
    r = ok(results, "socket_rpc")
    assert r["id"] == "clientrpc.rpc" and json.loads(r["payload"]) == {"hello": "socket"}


def test_stream_presence_and_data_reach_the_socket(results):
    r = ok(results, "stream_data")
    assert r["join_user_id"] == r["own_user_id"]
    assert r["leaves"] is None
    assert r["mode"] == 20 and r["label"] == "Stream Data Test" and r["data_equal"]


def test_refresh_after_logout_is_refused(results):
    assert ok(results, "logout")["refresh_after_logout_status"] == 401
