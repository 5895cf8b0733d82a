"""Registrations for features nkhost does not have yet: modules that use them load, and
``nkhost check`` names each handler that will never be called (the exit code stays 0)."""

from __future__ import annotations

import logging

import pytest

from host.cli import main
from host.runtime.registrations import Registration, never_called
from tests.runtime.helpers import call, vm_with, write_modules

# A module in the shape of Nakama's sample tournament and matchmaker modules.
TOURNAMENT = """
    local nk = require("nakama")

    local function on_end(context, tournament, session_end, expiry)
      nk.logger_info("tournament " .. tournament.id .. " ended")
    end
    local function on_reset(context, tournament, session_end, expiry) end
    local function on_leaderboard_reset(context, leaderboard, expiry) end
    nk.register_tournament_end(on_end)
    nk.register_tournament_reset(on_reset)
    nk.register_leaderboard_reset(on_leaderboard_reset)

    nk.register_matchmaker_matched(function(context, matched_users)
      if #matched_users ~= 2 then return nil end
      return nil
    end)

    nk.register_storage_index("scores_idx", "scores", "", {"rank", "name"}, {"rank"}, 1000)
    nk.register_storage_index_filter("scores_idx", function(context, write) return true end)
    nk.register_event(function(context, evt) end)

    nk.register_rpc(function() return "still serves" end, "t")
"""


def test_a_module_using_them_loads_and_serves(tmp_path):
    vm, errors = vm_with(tmp_path, {"tournament.lua": TOURNAMENT})
    assert errors == []
    assert call(vm) == "still serves"
    assert vm.catalog is not None
    kinds = {(r.kind, r.key) for r in vm.catalog.handlers}
    assert kinds == {
        ("tournament_end", ""), ("tournament_reset", ""), ("leaderboard_reset", ""), ("matchmaker_matched", ""),
        ("storage_index", "scores_idx"), ("storage_index_filter", "scores_idx"), ("event", "1"),
    }
    assert {r.path for r in vm.catalog.handlers} == {"tournament.lua"}


def test_nkhost_check_warns_per_handler_and_exits_0(tmp_path, capsys):
    write_modules(tmp_path, {"tournament.lua": TOURNAMENT, "plain.lua": "require('nakama').register_rpc(function() end, 'p')"})
    assert main(["check", "--runtime.path", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[out.index("  warnings (6):") + 1:] == [
        "    tournament.lua: register_leaderboard_reset: this handler will never be called (nkhost has no leaderboards yet)",
        "    tournament.lua: register_matchmaker_matched: this handler will never be called (nkhost has no matchmaker yet)",
        "    tournament.lua: register_storage_index 'scores_idx': this index will never be built (nkhost has no storage indexes yet)",
        "    tournament.lua: register_storage_index_filter 'scores_idx': this handler will never be called (nkhost has no storage indexes yet)",
        "    tournament.lua: register_tournament_end: this handler will never be called (nkhost has no tournaments yet)",
        "    tournament.lua: register_tournament_reset: this handler will never be called (nkhost has no tournaments yet)",
    ]


def test_nkhost_check_still_fails_on_errors(tmp_path, capsys):
    write_modules(tmp_path, {"a.lua": "require('nakama').register_tournament_end(function() end)", "b.lua": "error('boom')"})
    assert main(["check", "--runtime.path", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("runtime generation 1 refused: 1 error in ")
    assert out[1:3] == ["  errors (1):", "    b.lua:1: boom"]


def test_event_handlers_are_served_so_they_get_no_warning():
    assert never_called([Registration("event", "1", "a.lua"), Registration("rpc", "x", "a.lua")]) == []


@pytest.mark.parametrize(("source", "error"), [
    ("nk.register_matchmaker_matched('f')", "bad argument #1 to register_matchmaker_matched (function expected, got string)"),
    ("nk.register_tournament_end()", "bad argument #1 to register_tournament_end (function expected, got nil)"),
    ("nk.register_tournament_reset({})", "bad argument #1 to register_tournament_reset (function expected, got table)"),
    ("nk.register_leaderboard_reset(1)", "bad argument #1 to register_leaderboard_reset (function expected, got number)"),
    ("nk.register_event(nil)", "bad argument #1 to register_event (function expected, got nil)"),
    ("nk.register_storage_index_filter(nil, print)", "bad argument #1 to register_storage_index_filter (string expected, got nil)"),
    ("nk.register_storage_index_filter('i', 'f')", "bad argument #2 to register_storage_index_filter (function expected, got string)"),
    ("nk.register_storage_index()", "bad argument #1 to register_storage_index (string expected, got nil)"),
    ("nk.register_storage_index('i', 'c', {}, {}, {}, 1)", "bad argument #3 to register_storage_index (string expected, got table)"),
    ("nk.register_storage_index('i', 'c', 'k', 'f', {}, 1)", "bad argument #4 to register_storage_index (table expected, got string)"),
    ("nk.register_storage_index('i', 'c', 'k', {1}, {}, 1)", "bad argument #4 to register_storage_index (expects each field to be string)"),
    ("nk.register_storage_index('i', 'c', 'k', {'a'}, {true}, 1)", "bad argument #5 to register_storage_index (expects each field to be string)"),
    ("nk.register_storage_index('i', 'c', 'k', {'a'}, {}, 'many')", "bad argument #6 to register_storage_index (number expected, got string)"),
    ("nk.register_storage_index('i', 'c', 'k', {'a'}, {}, 1, 'yes')", "bad argument #7 to register_storage_index (boolean expected, got string)"),
])
def test_argument_errors_name_the_module_line(tmp_path, source, error):
    _, errors = vm_with(tmp_path, {"m.lua": "local nk = require('nakama')\n" + source})
    assert errors == [f"m.lua:2: {error}"]


def test_registering_inside_a_call_is_refused(tmp_path):
    vm, errors = vm_with(tmp_path, {"m.lua": """
        local nk = require("nakama")
        nk.register_rpc(function()
          local ok, e = pcall(nk.register_matchmaker_matched, function() end)
          return e
        end, "t")
    """})
    assert errors == []
    assert call(vm).endswith("register_matchmaker_matched: registrations are only allowed while the modules load (call it at the top level of a module)")


def test_a_later_registration_replaces_the_earlier_one_but_events_add_up(tmp_path):
    vm, errors = vm_with(tmp_path, {
        "a.lua": "local nk = require('nakama') nk.register_tournament_end(function() end) nk.register_event(function() end)",
        "b.lua": "local nk = require('nakama') nk.register_tournament_end(function() end) nk.register_event(function() end)",
    })
    assert errors == []
    assert [(r.kind, r.path) for r in vm.catalog.handlers if r.kind == "tournament_end"] == [("tournament_end", "b.lua")]
    assert vm.catalog.keys("event") == ["1", "2"]


async def test_the_server_logs_the_same_warnings_when_the_modules_load(tmp_path, runtimes, caplog):
    with caplog.at_level(logging.WARNING, "nkhost.runtime"):
        await runtimes(tmp_path, {"a.lua": "require('nakama').register_matchmaker_matched(function() end)"})
    assert [r.getMessage() for r in caplog.records if "register_" in r.getMessage()] == [
        "runtime_generation=1 a.lua: register_matchmaker_matched: this handler will never be called (nkhost has no matchmaker yet)",
    ]
