"""A throwaway PostgreSQL cluster for the tests: initdb + pg_ctl in a temp dir, on loopback.

PostgreSQL refuses to run as root, so when the tests run as root (CI does) the cluster runs as
the ``postgres`` OS user (``runuser``), in a directory made accessible to it. Binaries come from
PATH or ``/usr/lib/postgresql/*/bin``. ``.ci/run`` installs Debian's ``postgresql`` package
when they are missing; in CI (``CI`` set) a cluster that cannot start fails the tests with the
reason, elsewhere it skips them.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["Cluster", "find_bin", "free_port", "ClusterUnavailable"]


class ClusterUnavailable(RuntimeError):
    pass


def find_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """One cluster; ``dsn(db)`` addresses a database in it as the superuser ``postgres``."""

    def __init__(self, *, fsync: bool = False) -> None:
        initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise ClusterUnavailable("initdb/pg_ctl not found (install Debian's postgresql package)")
        self.initdb, self.pg_ctl = initdb, pg_ctl
        self.fsync = fsync
        self.root = Path(tempfile.mkdtemp(prefix="nkhost-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_user: list[str] = []
        self._test_db = False
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise ClusterUnavailable("running as root and runuser is missing")
            self._as_user = [runuser, "-u", "postgres", "--"]
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, "postgres")

    def _run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run([*self._as_user, *args], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise ClusterUnavailable(f"{' '.join(args[:2])} failed: {result.stderr.strip() or result.stdout.strip()}")

    def init(self) -> None:
        self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c max_connections=200"
        if not self.fsync:
            options += " -c fsync=off -c full_page_writes=off"  # commits still reach the OS: kill -9 safe
        self._run(self.pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except (ClusterUnavailable, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, database: str, sql: str) -> str:
        psql = find_bin("psql")
        if psql is None:
            raise ClusterUnavailable("psql not found")
        result = subprocess.run(
            [psql, "-X", "-q", "-At", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database, "-c", sql],
            capture_output=True, text=True, timeout=60,
        )
        if result.returncode != 0:
            raise ClusterUnavailable(result.stderr.strip())
        return result.stdout

    def create_database(self, name: str) -> str:
        """A fresh, empty place for one test: a schema of its own in the database ``nkhost``
        (CREATE DATABASE costs ~0.5 s, a schema milliseconds), addressed by search_path."""
        if not self._test_db:
            self.psql("postgres", "CREATE DATABASE nkhost")
            self._test_db = True
        self.psql("nkhost", f'CREATE SCHEMA "{name}"')
        return f"{self.dsn('nkhost')}?search_path={name}"
