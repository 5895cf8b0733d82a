"""Layers, as the developers' guide draws them: feature cores know no sockets, HTTP or Lua."""

from __future__ import annotations

import ast
from pathlib import Path

import host.features

DOORS = {"socket.py", "rest.py", "nk.py", "__init__.py"}
FORBIDDEN = ("lupa", "websockets", "httptools", "host.net", "host.runtime")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level >= 3:
            names.append("host." + (node.module or ""))
    return names


def test_feature_cores_import_no_doors_and_no_lua():
    root = Path(host.features.__file__).parent
    offenders = [
        f"{path.relative_to(root)}: {name}"
        for path in root.rglob("*.py")
        if path.parent != root and path.name not in DOORS
        for name in _imports(path)
        if name.startswith(FORBIDDEN)
    ]
    assert offenders == []


def test_every_listed_feature_is_a_package_with_build():
    root = Path(host.features.__file__).parent
    for name in host.features.PACKAGES:
        assert (root / name / "__init__.py").is_file(), name
