"""End-to-end plumbing: a real nkhost process and the real nakama-js client driving it.

``nkhost_process(tmp_path_factory, *flags)`` starts ``python -m host`` on a free port with
``lua_modules/`` and a temporary data dir, waits until it is healthy and stops it (SIGTERM)
when the module's tests are done. ``run_scenarios(script, port, *args)`` runs a Node script built on
``harness.cjs`` (``args`` follow the port on its command line) and returns its ``{scenario: {ok, ...facts}}`` object. ``ok(results, name)``
asserts one scenario passed and returns its facts. ``results_on_each_engine(script)`` is a
module's ``results`` fixture for a feature with tables: the script against SQLite, then
PostgreSQL.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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


@contextlib.contextmanager
def nkhost_process(tmp_path_factory: pytest.TempPathFactory, *flags: str) -> Iterator[int]:
    """A running nkhost (its port); extra ``flags`` are appended to the command line."""
    data = tmp_path_factory.mktemp("data")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "host", "--name", "nakama", "--data_dir", str(data), "--runtime.path", str(ROOT / "lua_modules"),
         "--socket.address", "127.0.0.1", "--socket.port", str(port), "--session.token_expiry_sec", "300",
         "--runtime.hot_reload", "false", "--logger.level", "warn", *flags],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_healthy(port, proc)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_scenarios(script: str, port: int, *args: str, timeout: float = 120) -> dict[str, Any]:
    if not (HERE / "node_modules" / "@heroiclabs" / "nakama-js").is_dir():
        pytest.fail("run `npm install --prefix tests/e2e` first (the README's test command does)")
    node = shutil.which("node")
    assert node, "node is required for the end-to-end tests"
    out = subprocess.run([node, str(HERE / script), str(port), *args], capture_output=True, text=True, timeout=timeout, cwd=HERE)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def ok(results: dict[str, Any], name: str) -> dict[str, Any]:
    r = results[name]
    assert r["ok"], r.get("error")
    return r


def results_on_each_engine(script: str) -> Any:
    """A module-scoped ``results`` fixture: ``script``'s scenarios against a server of each engine."""
    from tests.conftest import ENGINES, database_address

    @pytest.fixture(scope="module", params=ENGINES)
    def results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
        address = database_address(request, request.param)
        with nkhost_process(tmp_path_factory, "--database.address", address) as port:
            yield run_scenarios(script, port)

    return results
