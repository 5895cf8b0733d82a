"""Shared by the feature tests.

``EVAL`` is a module with an RPC that evaluates the Lua expression in its payload, for tests
of nk functions on a real server: ``await eval_rpc(app, ctx, 'nk.wallet_update(...)')``
returns ``{"a": first, "b": second, "c": third}`` of the expression's values (nils left out), or ``{"error": text}`` when
it raised. ``Clock`` is a clock a test moves by hand (``clock.now += 60``)."""

from __future__ import annotations

import json
from typing import Any

from host.runtime.context import CallContext

EVAL = """
local nk = require("nakama")
local function eval(context, payload)
  local fn = assert(loadstring("local nk, ctx = ...; return " .. payload))
  local ok, a, b, c = pcall(fn, nk, context)
  if not ok then return nk.json_encode({ error = a }) end
  return nk.json_encode({ a = a, b = b, c = c })
end
nk.register_rpc(eval, "eval")
"""


async def eval_rpc(app: Any, ctx: CallContext, expr: str) -> dict[str, Any]:
    return json.loads(await app.services.runtime.call_rpc("eval", ctx, expr))  # type: ignore[no-any-return]


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
