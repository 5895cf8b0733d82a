"""A match's own VM without a server: return-shape rules, dispatcher arguments, the sandbox."""

from __future__ import annotations

import pytest

from host.runtime.bridge import Services
from host.runtime.localcache import LocalCache
from host.runtime.match_vm import MatchCallbackError, MatchVm
from host.runtime.nk import binder
from host.runtime.sandbox import Limits
from host.runtime.snapshot import Module

MATCH_ID = "7b0c4f0e-8c1a-4d55-9a51-111111111111.nakama"
SID = "2f6f2d3c-0000-11ee-8000-111111111111"
UID = "5c1f3e1a-2222-4333-8444-555555555555"


class Target:
    """Records what the dispatcher hands the match."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def broadcast(self, *args):
        self.calls.append(("broadcast", *args))

    def kick(self, presences):
        self.calls.append(("kick", presences))

    def update_label(self, label):
        self.calls.append(("label", label))


def vm_for(body: str, limits: Limits | None = None, **callbacks: str) -> tuple[MatchVm, Target]:
    """A handler whose match_loop body is ``body`` (messages, d in scope); other callbacks
    default to returning the state."""
    parts = {name: "return state" for name in ("match_join_attempt", "match_join", "match_leave", "match_terminate", "match_signal")}
    parts.update(callbacks)
    source = "local M = {}\nfunction M.match_init(ctx, params) return {}, 10, 'l' end\n"
    source += "function M.match_loop(ctx, d, tick, state, messages)\n" + body + "\nend\n"
    for name, code in parts.items():
        source += f"function M.{name}(ctx, d, tick, state, a, b)\n{code}\nend\n"
    source += "return M\n"
    target = Target()
    vm = MatchVm(
        target, MATCH_ID, "h",
        limits=limits or Limits(timeout_ms=200, max_memory_mb=16), bind=binder(Services("nakama", cache=LocalCache()), None),
        generation=1, node="nakama", version="test", env={}, log_line=lambda level, message: None, claim_once=lambda: False,
    )
    vm.open([Module("h", "h.lua", source.encode())])
    vm.init(None)
    return vm, target


def test_shapes_follow_nakamas_rules():
    vm, _ = vm_for("return state")
    assert vm.loop(0, []) is True
    vm, _ = vm_for("return nil")
    assert vm.loop(0, []) is False
    vm, _ = vm_for("return state, 1")
    with pytest.raises(MatchCallbackError) as err:
        vm.loop(0, [])
    assert str(err.value) == "h.lua:3: Match loop returned too many values, stopping match"
    cases = {
        "return state, true": (True, ""),
        "return state, false, 'full'": (False, "full"),
        "return true": None,  # no state: the match ends
    }
    for code, expected in cases.items():
        vm, _ = vm_for("return state", match_join_attempt=code)
        assert vm.join_attempt(0, ("u", "s", "n", "nakama"), {}, {}) == expected, code
    vm, _ = vm_for("return state", match_join_attempt="return state, 'reason'")
    with pytest.raises(MatchCallbackError, match="non-boolean join result, stopping match"):
        vm.join_attempt(0, ("u", "s", "n", "nakama"), {}, {})


def test_dispatcher_argument_errors_use_nakamas_texts():
    cases = {
        "d.broadcast_message('x')": "bad argument #1 to broadcast_message (number expected, got string)",
        "d.broadcast_message(1, {})": "bad argument #2 to broadcast_message (expects data to be a string or nil)",
        "d.broadcast_message(1, 'x', {{}})": "bad argument #3 to broadcast_message (expects each presence to have a valid session_id and node)",
        "d.broadcast_message(1, 'x', nil, {user_id = 'x'})": "bad argument #4 to broadcast_message (expects presence to have a valid user_id, session_id, and username)",
        "d.match_kick({{user_id = 'x'}})": "bad argument #1 to match_kick (expects each presence to have a valid user_id, session_id, and node)",
        "d.broadcast_message = nil": "attempt to modify read-only table 'dispatcher' (key 'broadcast_message')",
    }
    for code, message in cases.items():
        vm, _ = vm_for(code + "\nreturn state")
        with pytest.raises(MatchCallbackError) as err:
            vm.loop(0, [])
        assert err.value.message == f"h.lua:4: {message}", code


def test_dispatcher_hands_plain_values_to_the_match():
    presence = f"{{user_id = '{UID}', session_id = '{SID}', username = 'ann', node = 'nakama'}}"
    vm, target = vm_for(
        f"d.broadcast_message(3, 'hi', {{{presence}}}, {presence}, false)\n"
        "d.broadcast_message_deferred(4, nil)\n"
        "d.broadcast_message(5, 'nobody', {})\n"
        f"d.match_kick({{{presence}}})\n"
        "d.match_label_update('new')\n"
        "return state"
    )
    assert vm.loop(0, []) is True
    sender = {"user_id": UID, "session_id": SID, "username": "ann"}
    assert target.calls == [
        ("broadcast", 3, b"hi", [(SID, "nakama")], sender, False, False),
        ("broadcast", 4, None, None, None, True, True),
        ("kick", [(UID, SID, "nakama")]),
        ("label", "new"),
    ]


def test_callbacks_are_sandboxed_and_limited():
    vm, _ = vm_for("return state", match_signal="return state, table.concat({type(python), type(jit), type(debug), type(io), type(getfenv)}, ',')")
    assert vm.signal(0, "") == (True, "nil,nil,nil,nil,nil")
    vm, _ = vm_for("while true do end")
    with pytest.raises(MatchCallbackError, match="match_loop aborted: call exceeded the 200 ms deadline"):
        vm.loop(0, [])
    assert vm.terminate(0, 0) is True  # the VM stays usable after the abort
    # 1 MiB a step reaches the cap in a few steps, long before even a loaded machine's deadline
    vm, _ = vm_for("local t = {} for i = 1, 1e6 do t[i] = string.rep('x', 1048576) .. i end", Limits(timeout_ms=5000, max_memory_mb=16))
    with pytest.raises(MatchCallbackError, match="memory limit of 16 MiB exceeded"):
        vm.loop(0, [])
