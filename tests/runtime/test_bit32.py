"""bit32 in the sandbox against Lua 5.2's own answers (tests/runtime/data/bit32_lua52.json).

The table holds ~3,700 expressions (negative numbers, 2^32 wrap, fractional operands and shift
counts, counts >= 32 and < 0, field and width checks, bad arguments) with what a real Lua 5.2
returned or raised; data/bit32_cases.lua generates it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from host.runtime.sandbox import Limits
from tests.runtime.helpers import call, rpc_vm

DATA = Path(__file__).parent / "data"
TABLE = DATA / "bit32_lua52.json"

# Each expression runs as its own chunk; results are written as the generator writes them.
EVALUATE = """
    local exprs = nk.json_decode(payload)
    local out = {}
    for i = 1, #exprs do
      local f = assert(load("return " .. exprs[i]))
      local r = { n = 0 }
      local function keep(...) r.n = select("#", ...) for j = 1, r.n do r[j] = (select(j, ...)) end end
      keep(pcall(f))
      local items = {}
      if r[1] then
        items[1] = "ok"
        for j = 2, r.n do
          local v = r[j]
          items[#items + 1] = type(v) == "number" and string.format("%.17g", v) or tostring(v)
        end
      else
        items[1] = "error"
        items[2] = (tostring(r[2]):gsub("^[^:]*:%d+: ", ""))
      end
      out[i] = table.concat(items, "\\t")
    end
    return table.concat(out, "\\n")
"""


def _expected_line(case: list) -> str:
    status, *values = case[1:]
    if status == "error":
        return "error\t" + values[0]
    return "\t".join(["ok", *("%.17g" % v if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v).lower() for v in values)])


def test_every_case_matches_lua_5_2(tmp_path):
    cases = json.loads(TABLE.read_text())
    assert len(cases) > 3000
    vm = rpc_vm(tmp_path, EVALUATE, Limits(timeout_ms=60_000))  # 3,700 cases in one call: slow on a loaded machine
    got = call(vm, json.dumps([c[0] for c in cases]).encode()).split("\n")
    mismatches = [(c[0], g, _expected_line(c)) for c, g in zip(cases, got, strict=True) if g != _expected_line(c)]
    assert mismatches == []


@pytest.mark.skipif(shutil.which("lua5.2") is None, reason="lua5.2 is not installed (the committed table is used)")
def test_the_committed_table_is_what_lua_5_2_answers():
    out = subprocess.run(["lua5.2", str(DATA / "bit32_cases.lua")], capture_output=True, check=True, timeout=60).stdout
    assert json.loads(out) == json.loads(TABLE.read_text())


@pytest.mark.parametrize(("body", "expected"), [
    # Lua 5.2's test suite (bitwise.lua) idioms, as Nakama's TestRuntimeBit32 runs them
    ("return tostring(bit32.band() == bit32.bnot(0))", "true"),
    ("return tostring(bit32.btest() == true)", "true"),
    ("return tostring(bit32.bor() == 0 and bit32.bxor() == 0)", "true"),
    ("return tostring(bit32.band(1, 3, 5) == 1 and bit32.bor(1, 2, 4) == 7)", "true"),
    ("return tostring(bit32.lshift(bit32.bnot(0), 32) == 0 and bit32.rshift(-1, 24) == 0xFF)", "true"),
    ("return tostring(bit32.arshift(0x12345678, 4) == 0x01234567 and bit32.arshift(-1, 4) == 0xFFFFFFFF)", "true"),
    ("return tostring(bit32.lrotate(0x12345678, 4) == 0x23456781 and bit32.rrotate(0x12345678, -4) == 0x23456781)", "true"),
    ("return tostring(bit32.extract(0x12345678, 0, 4) == 8 and bit32.replace(0x12345678, 5, 28, 4) == 0x52345678)", "true"),
    ("return tostring(not pcall(bit32.band, {}) and not pcall(bit32.bnot, 'a') and not pcall(bit32.extract, 0, 31, 2))", "true"),
    # the library is read-only, reachable through require("bit32"), and one table for all
    ("local ok, e = pcall(function() bit32.band = nil end) return e", "attempt to modify read-only table 'bit32' (key 'band')"),
    ("return tostring(require('bit32') == bit32)", "true"),
    ("return tostring(rawget(bit32, 'band'))", "nil"),
    ("return tostring(getmetatable(bit32))", "false"),
])
def test_library_behaviour(tmp_path, body, expected):
    got = call(rpc_vm(tmp_path, body))
    assert got is not None and got.endswith(expected)


def test_a_bad_argument_names_the_callers_line(tmp_path):
    vm = rpc_vm(tmp_path, """
        local ok, e = pcall(function()
          local x = bit32.lshift(1, "many")
          return x
        end)
        return e
    """)
    assert call(vm) == "m.lua:6: bad argument #2 to 'lshift' (number expected, got string)"
