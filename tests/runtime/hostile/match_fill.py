"""A match whose state fills its VM's heap to the cap, then ticks with large messages (their
tables are built in lupa's glue, where a refused allocation deadlocked the process). Prints
one JSON line: how each tick ended. Run by tests/runtime/test_hostile.py as a subprocess."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import orjson

from host.runtime.match_vm import MatchCallbackError
from host.runtime.sandbox import Limits
from tests.runtime.test_match_vm import vm_for

FILL = """
    if state.full == nil then
      state.keep = {}
      pcall(function() while true do state.keep[#state.keep + 1] = {} end end)
      for i = 1, 3 do state.keep[#state.keep] = nil end
      state.full = true
    end
    return state
"""


def main() -> dict:
    vm, _ = vm_for(FILL, Limits(timeout_ms=5000, max_memory_mb=16))
    message = SimpleNamespace(user_id="u", session_id="s", username="n", node="nakama", op_code=1, data=b"x" * 4096, reliable=True, receive_time_ms=0)
    outcomes = []
    for tick in range(5):
        try:
            outcomes.append("ok" if vm.loop(tick, [message] * 200) else "ended")
        except MatchCallbackError as exc:
            outcomes.append(exc.message)
    return {"ticks": outcomes}


if __name__ == "__main__":
    sys.stdout.write(orjson.dumps(main()).decode() + "\n")
