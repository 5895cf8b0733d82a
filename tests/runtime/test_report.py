"""The generation report: one block (text log format) or one record (json) per generation,
at start and after every reload, good or refused; ``nkhost check`` prints the same block."""

from __future__ import annotations

import json
import logging

import pytest

from host.cli import main
from host.log import setup_logging
from host.runtime import CallContext
from tests.runtime.helpers import write_modules

GOOD = {
    "game/lobby.lua": """
        local nk = require("nakama")
        nk.register_rpc(function() return "hi" end, "Lobby.Hello")
        nk.register_req_before(function(ctx, req) return req end, "AuthenticateDevice")
        nk.register_req_after(function(ctx, res, req) end, "WriteStorageObjects")
        nk.register_rt_before(function(ctx, env) return env end, "ChannelJoin")
        nk.register_event(function(ctx, evt) end)
    """,
    "arena.lua": """
        local function keep(ctx, d, tick, state) return state end
        return {
          match_init = function() return {}, 1, "" end,
          match_join_attempt = function(ctx, d, tick, state) return state, true end,
          match_join = keep, match_leave = keep, match_loop = keep, match_terminate = keep,
          match_signal = function(ctx, d, tick, state, data) return state, data end,
        }
    """,
}
BROKEN = """
    local nk = require("nakama")
    nk.register_rpc(function() return "x" end, "x")
    local t = nil
    t.oops = 1
"""
GOOD_BLOCK = [
    "  modules (2):",
    "    arena  arena.lua",
    "    game.lobby  game/lobby.lua",
    "  rpcs (1):",
    "    lobby.hello",
    "  hooks before (1):",
    "    authenticatedevice",
    "  hooks after (1):",
    "    writestorageobjects",
    "  hooks rt before (1):",
    "    channeljoin",
    "  match handlers (1):",
    "    arena",
    "  other registrations (1):",
    "    register_event 1 (game/lobby.lua)",
]


@pytest.fixture
def log_format(capsys):
    """``setup_logging(level, fmt)`` as the server does, to captured stdout; the root logger's
    handlers (pytest's own) come back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def use(fmt: str) -> None:
        setup_logging("info", fmt)

    yield use
    root.handlers[:] = handlers
    root.setLevel(level)


def report_lines(out: str) -> list[str]:
    """The text log's report block: the headline's log line and the indented lines under it."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if "nkhost.runtime: runtime generation" in line)
    end = start + 1
    while end < len(lines) and lines[end].startswith("  "):
        end += 1
    return lines[start:end]


async def test_text_block_for_a_good_start_and_a_refused_reload(tmp_path, runtimes, log_format, capsys):
    log_format("text")
    runtime = await runtimes(tmp_path, GOOD)
    block = report_lines(capsys.readouterr().out)
    assert block[0].endswith("INFO nkhost.runtime: runtime generation 1 live: 2 modules, 1 RPC in " + block[0].rsplit(" in ", 1)[1])
    assert block[0].endswith(" ms")
    assert block[1:] == GOOD_BLOCK

    write_modules(tmp_path, {"broken.lua": BROKEN})
    assert not (await runtime.reload()).ok
    block = report_lines(capsys.readouterr().out)
    assert " ERROR nkhost.runtime: runtime generation 2 refused: 1 error in " in block[0]
    assert block[0].endswith(" ms, generation 1 keeps serving")
    assert block[1:] == [
        "  errors (1):",
        "    broken.lua:5: attempt to index local 't' (a nil value)",
        "  modules (3):",
        "    arena  arena.lua",
        "    broken  broken.lua",
        "    game.lobby  game/lobby.lua",
    ]
    assert await runtime.call_rpc("lobby.hello", CallContext(), "") == "hi"


async def test_json_record_for_a_good_start_and_a_refused_reload(tmp_path, runtimes, log_format, capsys):
    log_format("json")
    runtime = await runtimes(tmp_path, GOOD)
    write_modules(tmp_path, {"broken.lua": BROKEN})
    assert not (await runtime.reload()).ok
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    reports = [r for r in records if "runtime_generation" in r and "modules" in r]
    assert len(reports) == 2
    good, bad = reports
    assert good["level"] == "info" and good["ok"] is True
    assert good["msg"].startswith("runtime generation 1 live: 2 modules, 1 RPC in ")
    assert good["modules"] == [{"name": "arena", "file": "arena.lua"}, {"name": "game.lobby", "file": "game/lobby.lua"}]
    assert good["rpcs"] == ["lobby.hello"]
    assert good["hooks"] == {"before": ["authenticatedevice"], "after": ["writestorageobjects"], "rt_before": ["channeljoin"], "rt_after": []}
    assert good["match_handlers"] == ["arena"]
    assert good["registrations"] == ["register_event 1 (game/lobby.lua)"]
    assert good["errors"] == [] and isinstance(good["duration_ms"], float)
    assert bad["level"] == "error" and bad["ok"] is False and bad["runtime_generation"] == 2
    assert bad["errors"] == ["broken.lua:5: attempt to index local 't' (a nil value)"]
    assert bad["msg"].endswith(" ms, generation 1 keeps serving")
    assert bad["rpcs"] == []


def test_nkhost_check_prints_the_same_block(tmp_path, capsys):
    write_modules(tmp_path, GOOD)
    assert main(["check", "--runtime.path", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("runtime generation 1 live: 2 modules, 1 RPC in ")
    assert out[1:] == GOOD_BLOCK

    write_modules(tmp_path, {"broken.lua": BROKEN})
    assert main(["check", "--runtime.path", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("runtime generation 1 refused: 1 error in ")
    assert out[1:3] == ["  errors (1):", "    broken.lua:5: attempt to index local 't' (a nil value)"]
