"""A broken database under a running server (issue 13 items 11 and 18, issue 14): the file
deleted, the disk full, PostgreSQL gone, a corrupt file at start. Each gives the client a clean
error, the log one line, never a traceback or a hang, and the server recovers when it can."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from tests.net.helpers import http

REPO = Path(__file__).resolve().parents[2]
BASIC = {"Authorization": "Basic ZGVmYXVsdGtleTo="}


async def login(app, custom_id: str) -> tuple[int, dict]:
    reply = await http(app.port, "POST", "/v2/account/authenticate/custom", json.dumps({"id": custom_id}), BASIC)
    return reply.status, reply.json()


async def write(app, token: str, key: str) -> tuple[int, dict]:
    reply = await http(app.port, "PUT", "/v2/storage", json.dumps({"objects": [{"collection": "c", "key": key, "value": "{}"}]}),
                       {"Authorization": f"Bearer {token}"})
    return reply.status, reply.json()


def log_lines(caplog, start: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(start)]


def no_tracebacks(caplog) -> bool:
    return not any(r.exc_info for r in caplog.records)


async def test_sqlite_file_deleted_while_running(start_server, caplog) -> None:
    caplog.set_level(logging.INFO)
    app = await start_server()
    status, body = await login(app, "before-01")
    assert status == 200
    token = body["token"]
    path = app.services.database.path
    aside = path.with_name("aside.db")
    os.rename(path, aside)  # what `rm` does to the path; moving it back is how it "returns"

    assert await write(app, token, "lost") == (500, {"code": 13, "message": "Error writing storage objects."})
    assert await login(app, "during-01") == (500, {"code": 13, "message": "Error finding or creating user account."})
    assert len(log_lines(caplog, "database unavailable")) == 1
    assert "deleted or moved while the server was running" in log_lines(caplog, "database unavailable")[0]
    assert no_tracebacks(caplog)

    os.rename(aside, path)
    assert (await write(app, token, "kept"))[0] == 200
    assert (await login(app, "after-001"))[0] == 200
    assert log_lines(caplog, "database available again")


async def test_sqlite_disk_full_is_a_clean_error(start_server, caplog) -> None:
    caplog.set_level(logging.INFO)
    app = await start_server()
    status, body = await login(app, "full-0001")
    token = body["token"]
    db = app.services.database
    (pages,) = await db.fetchone("PRAGMA page_count")
    await db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own SQLITE_FULL, as on a full disk
    big = json.dumps({"x": "y" * 50_000})
    reply = await http(app.port, "PUT", "/v2/storage", json.dumps({"objects": [{"collection": "c", "key": "big", "value": big}]}),
                       {"Authorization": f"Bearer {token}"})
    assert (reply.status, reply.json()) == (500, {"code": 13, "message": "Error writing storage objects."})
    assert ["database or disk is full" in line for line in log_lines(caplog, "database unavailable")] == [True]
    assert no_tracebacks(caplog)
    await db.execute("PRAGMA max_page_count = 1073741823")
    assert (await write(app, token, "small"))[0] == 200


async def test_postgres_gone_and_back(start_server, pg_cluster, caplog) -> None:
    caplog.set_level(logging.INFO)
    app = await start_server(engine="postgres")
    status, body = await login(app, "pg-gone-01")
    token = body["token"]
    await asyncio.to_thread(pg_cluster.stop, "fast")
    try:
        replies = [await write(app, token, f"k{i}") for i in range(3)]
        assert replies == [(500, {"code": 13, "message": "Error writing storage objects."})] * 3
        assert len(log_lines(caplog, "database unavailable")) == 1
        assert no_tracebacks(caplog)
    finally:
        await asyncio.to_thread(pg_cluster.start)
    assert (await write(app, token, "back"))[0] == 200
    assert log_lines(caplog, "database available again")


def test_corrupt_database_file_refuses_to_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "nkhost.db").write_bytes(b"garbage, not a database\n" * 200)
    (tmp_path / "mods").mkdir()
    out = subprocess.run(
        [sys.executable, "-m", "host", "--data_dir", str(data), "--runtime.path", str(tmp_path / "mods"),
         "--socket.port", "0", "--logger.format", "text"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 1
    lines = [line for line in out.stdout.splitlines() if "cannot start" in line]
    assert len(lines) == 1 and "the file is not a SQLite database" in lines[0] and "nkhost.db" in lines[0]
    assert "Traceback" not in out.stdout + out.stderr


def test_migrate_command(tmp_path: Path) -> None:
    base = [sys.executable, "-m", "host", "migrate"]
    flags = ["--data_dir", str(tmp_path)]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *args, *flags], cwd=REPO, capture_output=True, text=True, timeout=60)

    assert "accounts: version 0 of 1 (1 pending)" in run("status").stdout
    up = run("up")
    assert up.returncode == 0 and "applied accounts 1" in up.stdout and "applied storage 1" in up.stdout
    assert "storage: version 1 of 1 (up to date)" in run("status").stdout
    bad = subprocess.run([*base, "sideways"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "usage: nkhost migrate up|status" in bad.stderr
