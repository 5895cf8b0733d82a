"""Shared by the match tests: a probe match handler driven by op codes, RPCs to reach nk, players.

``PROBE`` is a handler module whose behaviour the test picks: params at creation (tick rate,
label, per-tick broadcasts) and op codes in the data it is sent (echo, defer, label update,
error, runaway loop, nil state, kick, wrong return shape). ``RPCS`` exposes nk.match_create,
nk.match_signal, nk.match_get and nk.match_list to the tests.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.conftest import WsClient, connect, new_user

PROBE = """
local nk = require("nakama")
local M = {}

function M.match_init(ctx, params)
  params = params or {}
  return { params = params, ticks = 0 }, params.rate or 30, params.label or ""
end

function M.match_join_attempt(ctx, d, tick, state, presence, metadata)
  if metadata.reject then return state, false, metadata.reject end
  if metadata.nil_state then return nil, true end
  state.joiner = nk.json_encode({ user_id = ctx.user_id, session_id = ctx.session_id, node = presence.node })
  return state, true
end

function M.match_join(ctx, d, tick, state, presences)
  for _, p in ipairs(presences) do d.broadcast_message(100, "join:" .. p.username .. ":" .. p.reason) end
  return state
end

function M.match_leave(ctx, d, tick, state, presences)
  for _, p in ipairs(presences) do d.broadcast_message(101, "leave:" .. p.username .. ":" .. p.reason) end
  return state
end

function M.match_loop(ctx, d, tick, state, messages)
  state.ticks = state.ticks + 1
  if state.params.tick_op then d.broadcast_message(state.params.tick_op, tostring(tick)) end
  for _, m in ipairs(messages) do
    local op = m.op_code
    if op == 1 then d.broadcast_message(1, m.data, nil, m.sender)
    elseif op == 2 then d.broadcast_message_deferred(2, "deferred"); d.broadcast_message(3, "now")
    elseif op == 4 then d.match_label_update(m.data); d.broadcast_message(4, ctx.match_label)
    elseif op == 5 then error("boom")
    elseif op == 6 then while true do end
    elseif op == 7 then return nil
    elseif op == 8 then d.match_kick({ m.sender })
    elseif op == 9 then return state, "extra"
    elseif op == 10 then d.broadcast_message(10, m.data, { m.sender })
    end
  end
  return state
end

function M.match_terminate(ctx, d, tick, state, grace)
  d.broadcast_message(99, "terminate:" .. grace)
  if state.params.end_on_terminate then return nil end
  return state
end

function M.match_signal(ctx, d, tick, state, data)
  if data == "ticks" then return state, tostring(state.ticks) end
  if data == "joiner" then return state, state.joiner end
  if data == "ctx" then return state, nk.json_encode(ctx) end
  if data == "end" then return nil, "bye" end
  if data == "lone" then return state end
  if data == "boom" then error("signal boom") end
  if data == "self" then return state, select(2, pcall(nk.match_signal, ctx.match_id, "x")) end
  return state, "echo:" .. data
end

return M
"""

RPCS = """
local nk = require("nakama")
nk.register_rpc(function(ctx, payload)
  local p = nk.json_decode(payload)
  return nk.match_create(p.module or "probe", p.params)
end, "create")
nk.register_rpc(function(ctx, payload)
  local p = nk.json_decode(payload)
  return nk.match_signal(p.id, p.data)
end, "signal")
nk.register_rpc(function(ctx, payload)
  return nk.json_encode(nk.match_get(payload) or { missing = true })
end, "get")
nk.register_rpc(function(ctx, payload)
  local p = nk.json_decode(payload)
  return nk.json_encode(nk.match_list(p.limit, p.authoritative, p.label, p.min_size, p.max_size, p.query))
end, "list")
"""

MODULES = {"probe.lua": PROBE, "rpcs.lua": RPCS}


class Player:
    """A connected client with its identity (for expected presences)."""

    def __init__(self, client: WsClient, user_id: str, username: str, session_id: str) -> None:
        self.client, self.user_id, self.username, self.session_id = client, user_id, username, session_id
        self.cid = 0
        self.seen: list[dict[str, Any]] = []
        self.pending: list[dict[str, Any]] = []

    @property
    def presence(self) -> dict[str, str]:
        return {"user_id": self.user_id, "session_id": self.session_id, "username": self.username}

    def send(self, envelope: dict[str, Any]) -> None:
        self.client.send(envelope)

    async def request(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send with a fresh cid; the reply with that cid (pushes before it are kept)."""
        self.cid += 1
        cid = str(self.cid)
        self.client.send({"cid": cid, key: body})
        return await self.until(lambda e: e.get("cid") == cid)

    async def until(self, test) -> dict[str, Any]:
        """The first envelope passing ``test``, oldest first: ones already received and not
        claimed yet (``pending``), then new ones. Everything received is also in ``seen``."""
        for i, envelope in enumerate(self.pending):
            if test(envelope):
                del self.pending[i]
                return envelope
        while True:
            envelope = await self.client.recv()
            self.seen.append(envelope)
            if test(envelope):
                return envelope
            self.pending.append(envelope)

    async def data(self, op_code: int) -> str:
        """The next match_data with ``op_code``, decoded."""
        envelope = await self.until(lambda e: "match_data" in e and e["match_data"].get("op_code") == str(op_code))
        return decode(envelope["match_data"].get("data", ""))

    async def rpc(self, rpc_id: str, payload: Any = "") -> str:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        reply = await self.request("rpc", {"id": rpc_id, "payload": text})
        assert "rpc" in reply, reply
        return reply["rpc"].get("payload", "")

    def send_data(self, match_id: str, op_code: int, data: str = "", **extra: Any) -> None:
        self.send({"match_data_send": {"match_id": match_id, "op_code": str(op_code), "data": encode(data), **extra}})


async def player(app, **query) -> Player:
    user_id, username = new_user()
    client = await connect(app, user_id, username, **query)
    session_id = next(s.session_id for s in app.services.sessions if s.user_id == user_id)
    return Player(client, user_id, username, session_id)


def line_of(snippet: str, source: str = PROBE) -> int:
    """The line of ``source`` (as start_server writes it) holding ``snippet``."""
    lines = source.strip("\n").splitlines()
    return next(i for i, line in enumerate(lines, 1) if snippet in line)


def encode(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def decode(text: str) -> str:
    return base64.b64decode(text).decode()


async def create(p: Player, **params: Any) -> str:
    return await p.rpc("create", {"params": params} if params else {})
