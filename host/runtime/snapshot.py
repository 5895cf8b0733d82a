"""Reading runtime.path into an immutable snapshot of module sources.

A generation is built from a snapshot, never from the filesystem at call time, so
``require`` cannot reach outside runtime.path and a half-written save is never seen twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Module", "Snapshot", "snapshot", "MAX_MODULE_BYTES"]

MAX_MODULE_BYTES = 1 << 20


@dataclass(slots=True, frozen=True)
class Module:
    name: str  # games.lobby
    path: str  # games/lobby.lua: the chunk name, so errors read "games/lobby.lua:12: ..."
    source: bytes


@dataclass(slots=True, frozen=True)
class Snapshot:
    modules: tuple[Module, ...]
    errors: tuple[str, ...]


def _is_module(name: str) -> bool:
    # Dotfiles are editor temp files (.#lobby.lua); Nakama compares the extension lowercased.
    return not name.startswith(".") and name.lower().endswith(".lua")


def snapshot(root: str | os.PathLike[str]) -> Snapshot:
    """Every ``*.lua`` under root, sorted by module name; refused files become errors.

    Symbolic links are read only when they end inside root (os.walk does not follow linked
    directories): a link to /etc/passwd once put a fragment of it into the error log.
    """
    base = Path(root)
    if not base.is_dir():
        return Snapshot((), (f"{root}: not a directory",))
    modules: list[Module] = []
    errors: list[str] = []
    inside = base.resolve()
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            if not _is_module(filename):
                continue
            full = Path(dirpath, filename)
            rel = full.relative_to(base).as_posix()
            try:
                real = full.resolve(strict=True)
                if not real.is_relative_to(inside):  # a symlink out of runtime.path (issue 13)
                    errors.append(f"{rel}: symbolic link to a file outside runtime.path is not allowed")
                    continue
                if real.stat().st_size > MAX_MODULE_BYTES:
                    errors.append(f"{rel}: file is larger than 1 MiB")
                    continue
                source = real.read_bytes()
            except OSError as exc:  # deleted between walk and read: the next event reloads
                errors.append(f"{rel}: {exc.strerror or exc}")
                continue
            if source.startswith(b"\x1b"):
                errors.append(f"{rel}: precompiled bytecode is not allowed")
                continue
            try:
                source.decode("utf-8")
            except UnicodeDecodeError as exc:
                errors.append(f"{rel}: not valid UTF-8 (byte {exc.start})")
                continue
            modules.append(Module(rel[: -len(".lua")].replace("/", "."), rel, source))
    modules.sort(key=lambda m: m.name)
    return Snapshot(tuple(modules), tuple(sorted(errors)))
