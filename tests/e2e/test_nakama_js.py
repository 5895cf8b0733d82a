"""The real @heroiclabs/nakama-js client against a real nkhost process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
ROOT = HERE.parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nkhost exited with {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthcheck", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)  # polling a starting process: there is no event to await
    raise RuntimeError("nkhost did not become healthy")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    if not (HERE / "node_modules" / "@heroiclabs" / "nakama-js").is_dir():
        pytest.fail("run `npm install --prefix tests/e2e` first (the README's test command does)")
    node = shutil.which("node")
    assert node, "node is required for the end-to-end tests"
    data = tmp_path_factory.mktemp("data")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "host", "--name", "nakama", "--data_dir", str(data), "--runtime.path", str(ROOT / "lua_modules"),
         "--socket.address", "127.0.0.1", "--socket.port", str(port), "--session.token_expiry_sec", "300",
         "--runtime.hot_reload", "false", "--logger.level", "warn"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_healthy(port, proc)
        out = subprocess.run([node, str(HERE / "scenarios.cjs"), str(port)], capture_output=True, text=True, timeout=120, cwd=HERE)
        assert out.returncode == 0, out.stderr
        yield json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ok(results, name):
    r = results[name]
    assert r["ok"], r.get("error")
    return r


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
