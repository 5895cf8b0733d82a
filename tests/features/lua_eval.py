"""An RPC that evaluates the Lua expression in its payload, for tests of nk functions on a
real server: ``await eval_rpc(app, ctx, 'nk.wallet_update(...)')`` returns ``{"a": first,
"b": second}`` of the expression's values, or ``{"error": text}`` when it raised."""

from __future__ import annotations

import json
from typing import Any

from host.runtime.context import CallContext

EVAL = """
local nk = require("nakama")
local function eval(context, payload)
  local fn = assert(loadstring("local nk, ctx = ...; return " .. payload))
  local ok, a, b = pcall(fn, nk, context)
  if not ok then return nk.json_encode({ error = a }) end
  return nk.json_encode({ a = a, b = b })
end
nk.register_rpc(eval, "eval")
"""


async def eval_rpc(app: Any, ctx: CallContext, expr: str) -> dict[str, Any]:
    return json.loads(await app.services.runtime.call_rpc("eval", ctx, expr))  # type: ignore[no-any-return]
