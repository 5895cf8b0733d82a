"""The LuaLS annotations (host/runtime/lua/nk_meta.lua) against the real nk table: every
function a VM's nk table holds is annotated, with its binding's arity, and nothing else is.

The bindings are read where they are defined: a Python binding's arity from its signature
(the Bridge argument dropped), a Lua one's from ``debug.getinfo(f, "u")`` on the host side.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

import pytest
from lupa.luajit21 import LuaRuntime

from host.cli import main
from host.features import nk_functions
from host.runtime import standalone_vm
from host.runtime.annotations import META_NAME, meta_source
from host.runtime.bridge import Services
from host.runtime.localcache import LocalCache
from host.runtime.nk import binder

_FUNCTION = re.compile(r"((?:^---.*\n)*)^function nk\.(\w+)\(([^)]*)\) end$", re.M)
_PARAM = re.compile(r"^---@param (\w+)(\??) (\S+)", re.M)


@dataclass(slots=True)
class Binding:
    required: int
    total: int
    varargs: bool


def annotated(source: str) -> dict[str, tuple[list[str], str]]:
    """name -> (parameter names, the doc comment above it)."""
    out = {}
    for doc, name, params in _FUNCTION.findall(source):
        out[name] = ([p.strip() for p in params.split(",") if p.strip()], doc)
    return out


def bindings(tmp_path) -> dict[str, Binding]:
    """Every function in a real VM's nk table (standalone_vm binds them as the Runtime does)."""
    vm, errors = standalone_vm(str(tmp_path), nk_functions())
    assert vm is not None and errors == []
    python = binder(Services("nakama", cache=LocalCache()), None, nk_functions())(vm)
    internals = vm._host[b"internals"]
    getinfo = internals[b"getinfo"]
    out = {}
    for key, fn in internals[b"nk"].items():
        name = key.decode()
        if name in python:
            bound = python[name]
            params = list(inspect.signature(bound.fn).parameters.values())[0 if bound.first is None else 1:]
            positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            required = sum(1 for p in positional if p.default is p.empty)
            varargs = any(p.kind is p.VAR_POSITIONAL for p in params)
            out[name] = Binding(required, len(positional), varargs)
        else:
            info = getinfo(fn, b"u")
            out[name] = Binding(info[b"nparams"], info[b"nparams"], bool(info[b"isvararg"]))
    return out


def problems(source: str, table: dict[str, Binding]) -> list[str]:
    notes = annotated(source)
    out = [f"nk.{name} has no annotation" for name in sorted(table.keys() - notes.keys())]
    out += [f"nk.{name} is annotated but not in the nk table" for name in sorted(notes.keys() - table.keys())]
    for name in sorted(table.keys() & notes.keys()):
        params, doc = notes[name]
        binding = table[name]
        n = len([p for p in params if p != "..."])
        if binding.varargs and n < binding.required:
            out.append(f"nk.{name}: annotated {n} parameters, the binding requires {binding.required}")
        elif not binding.varargs and n != binding.total:
            out.append(f"nk.{name}: annotated {n} parameters, the binding takes {binding.total}")
        documented = [p for p, _, _ in _PARAM.findall(doc)]
        if documented != [p for p in params if p != "..."]:
            out.append(f"nk.{name}: ---@param lines {documented} do not match the parameters {params}")
        if not any(line.startswith("---") and not line.startswith("---@") and line[3:].strip() for line in doc.splitlines()):
            out.append(f"nk.{name}: no one-line description")
    return out


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> dict[str, Binding]:
    return bindings(tmp_path_factory.mktemp("empty"))


def test_every_nk_function_is_annotated_with_its_arity(table):
    assert len(table) > 100  # the runtime's own, the prelude's and every feature's
    assert problems(meta_source().decode(), table) == []


def test_the_check_fails_on_a_missing_or_wrong_annotation(table):
    source = meta_source().decode()
    missing = source.replace("function nk.uuid_v4() end", "")
    assert problems(missing, table) == ["nk.uuid_v4 has no annotation"]
    wrong = source.replace("function nk.register_rpc(fn, id) end", "function nk.register_rpc(fn) end")
    assert "nk.register_rpc: annotated 1 parameters, the binding takes 2" in problems(wrong, table)
    extra = source.replace("function nk.md5_hash(s) end", "function nk.md5_hash(s, salt) end")
    assert "nk.md5_hash: annotated 2 parameters, the binding takes 1" in problems(extra, table)


def test_the_arity_comes_from_the_bindings(table):
    assert table["register_rpc"] == Binding(2, 2, False)  # Lua, from debug.getinfo
    assert table["stream_user_join"] == Binding(3, 6, False)  # Python, Bridge dropped
    assert table["friends_add"].varargs


def test_meta_file_is_valid_lua_declaring_what_the_parser_reads():
    """Compiled and run by LuaJIT (outside any sandbox: it only defines empty functions), the
    file returns a table with exactly the functions the parser above found."""
    nk = LuaRuntime(encoding=None).execute(meta_source())
    assert sorted(k.decode() for k in nk.keys()) == sorted(annotated(meta_source().decode()))


def test_meta_file_declares_the_context_and_the_match_dispatcher():
    source = meta_source().decode()
    assert source.startswith("---@meta")
    for cls in ("nk.Context", "nk.MatchDispatcher", "nk.MatchHandler", "nk"):
        assert f"---@class {cls} " in source or f"---@class {cls}\n" in source


def test_nkhost_annotations_writes_the_shipped_file(tmp_path, capsys):
    target = tmp_path / "types"
    assert main(["annotations", str(target)]) == 0
    assert (target / META_NAME).read_bytes() == meta_source()
    assert capsys.readouterr().out.strip() == f"wrote {target / META_NAME}"
    assert main(["annotations"]) == 2


def test_annotations_in_a_dot_directory_are_never_loaded_as_modules(tmp_path, capsys):
    """The README's layout: lua_modules/.nk/nk_meta.lua next to the modules is not a module."""
    assert main(["annotations", str(tmp_path / ".nk")]) == 0
    (tmp_path / "hello.lua").write_text('require("nakama").register_rpc(function() return "hi" end, "hello")\n')
    capsys.readouterr()
    assert main(["check", "--runtime.path", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[1:3] == ["  modules (1):", "    hello  hello.lua"]
