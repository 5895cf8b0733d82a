"""A Lua module whose RPCs drive the stream functions, and a client-side wrapper for it.

Each RPC takes a JSON payload naming the stream and options, so tests can
play the engine's rules over real sockets: ``pushed, reply = await
drive(client, "join", stream=S, hidden=True)``. Stream operations reach the
engine before the RPC returns, so what they push to the caller arrives before
the reply, and what they push to other sockets is queued there already.
"""

from __future__ import annotations

import itertools
from typing import Any

import orjson

STREAMS_LUA = """
    local nk = require("nakama")
    local function a(payload) return nk.json_decode(payload) end
    nk.register_rpc(function(ctx, payload)
      local p = a(payload)
      return tostring(nk.stream_user_join(p.user_id or ctx.user_id, p.session_id or ctx.session_id, p.stream,
        p.hidden or false, p.persistence or false, p.status or ""))
    end, "join")
    nk.register_rpc(function(ctx, payload)
      local p = a(payload)
      nk.stream_user_update(p.user_id or ctx.user_id, ctx.session_id, p.stream, p.hidden or false, p.persistence or false, p.status or "")
    end, "update")
    nk.register_rpc(function(ctx, payload)
      local p = a(payload)
      nk.stream_user_leave(p.user_id or ctx.user_id, ctx.session_id, p.stream)
    end, "leave")
    nk.register_rpc(function(ctx, payload)
      local p = a(payload)
      nk.stream_user_kick({user_id = p.user_id, session_id = p.session_id}, p.stream)
    end, "kick")
    nk.register_rpc(function(ctx, payload) nk.stream_close(a(payload).stream) end, "close")
    nk.register_rpc(function(ctx, payload)
      local p = a(payload)
      nk.stream_send(p.stream, p.data, p.presences, p.reliable ~= false)
    end, "send")
    nk.register_rpc(function(ctx, payload)
      local p = a(payload)
      local ok, err = pcall(nk.stream_send_raw, p.stream, p.envelope, p.presences, p.reliable ~= false)
      if not ok then error(err) end
    end, "send_raw")
    nk.register_rpc(function(ctx, payload)
      local p = a(payload)
      nk.session_disconnect(p.session_id, p.reason)
    end, "disconnect")
    nk.register_rpc(function(ctx, payload) return tostring(nk.stream_count(a(payload).stream)) end, "count")
"""

_cids = itertools.count(1)


async def drive(client: Any, rpc: str, **args: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Call a stream RPC: (messages the caller got before the reply, the reply)."""
    cid = f"d{next(_cids)}"
    client.send({"cid": cid, "rpc": {"id": rpc, "payload": orjson.dumps(args).decode()}})
    before = []
    while True:
        message = await client.recv()
        if message.get("cid") == cid:
            return before, message
        before.append(message)


async def nothing_pending(client: Any) -> None:
    """Assert the client has no message queued: a ping's pong must come next."""
    cid = f"p{next(_cids)}"
    client.send({"cid": cid, "ping": {}})
    message = await client.recv()
    assert message == {"cid": cid, "pong": {}}, f"unexpected message: {message}"
