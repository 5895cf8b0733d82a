"""The Lua Language Server annotations of the ``nk`` module, shipped as package data.

``lua/nk_meta.lua`` is a ``---@meta`` file: it is never loaded into a VM, only written out
by ``nkhost annotations DIR`` for the designer's editor (LuaLS reads it through
``workspace.library`` in ``.luarc.json``). tests/runtime/test_annotations.py holds it to the
runtime: every function in a VM's nk table must be declared there, with its binding's arity.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["META_NAME", "META_PATH", "meta_source"]

META_NAME = "nk_meta.lua"
META_PATH = Path(__file__).parent / "lua" / META_NAME


def meta_source() -> bytes:
    return META_PATH.read_bytes()
