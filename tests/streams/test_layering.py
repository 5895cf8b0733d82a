"""The engine stays sans-I/O: no asyncio, Lua, sockets, storage, or upper layers."""

from __future__ import annotations

import ast
from pathlib import Path

import host.streams

FORBIDDEN = ("asyncio", "lupa", "websockets", "httptools", "sqlite3", "socket", "host.net", "host.runtime", "host.storage")


def test_engine_imports_nothing_from_io_or_upper_layers():
    root = Path(host.streams.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.ImportFrom) and node.level >= 2:
                names = ["host." + (node.module or "")]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN or n.startswith(FORBIDDEN)]
    assert offenders == []
