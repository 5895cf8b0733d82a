-- bench_match.lua: the authoritative match handler of bench/matches.py (a small action game).
--
-- Each player steers one of 16 entities; every tick the match applies the inputs it received,
-- moves every entity (bouncing off the walls) and broadcasts one snapshot to all players.
-- Lua 5.1 only, so it runs unchanged on Nakama and on nkhost.
--   op 1 player -> server {dx, dy};  op 2 server -> players {tick, e = {x1, y1, x2, y2, ...}}
-- RPC "bench_match_create" {count, rate} -> {"ids": [...]}: make matches for the benchmark.
local nk = require("nakama")

local ENTITIES = 16
local SIZE = 1000

local M = {}

function M.match_init(context, params)
  local entities = {}
  for i = 1, ENTITIES do
    entities[i] = { x = (i * 61) % SIZE, y = (i * 37) % SIZE, vx = (i % 5) - 2, vy = (i % 3) - 1 }
  end
  local state = { entities = entities, players = {}, slots = 0 }
  return state, (params and params.rate) or 10, nk.json_encode({ bench = true })
end

function M.match_join_attempt(context, dispatcher, tick, state, presence, metadata)
  return state, true
end

function M.match_join(context, dispatcher, tick, state, presences)
  for _, p in ipairs(presences) do
    state.slots = state.slots % ENTITIES + 1
    state.players[p.session_id] = state.slots
  end
  return state
end

function M.match_leave(context, dispatcher, tick, state, presences)
  for _, p in ipairs(presences) do state.players[p.session_id] = nil end
  return state
end

function M.match_loop(context, dispatcher, tick, state, messages)
  local entities = state.entities
  for _, m in ipairs(messages) do
    local slot = state.players[m.sender.session_id]
    if slot ~= nil and m.op_code == 1 then
      local input = nk.json_decode(m.data)
      local e = entities[slot]
      e.vx, e.vy = input.dx or e.vx, input.dy or e.vy
    end
  end
  local flat = {}
  for i = 1, ENTITIES do
    local e = entities[i]
    e.x, e.y = e.x + e.vx, e.y + e.vy
    if e.x < 0 or e.x > SIZE then e.vx = -e.vx end
    if e.y < 0 or e.y > SIZE then e.vy = -e.vy end
    flat[#flat + 1] = math.floor(e.x)
    flat[#flat + 1] = math.floor(e.y)
  end
  dispatcher.broadcast_message(2, nk.json_encode({ tick = tick, e = flat }))
  return state
end

function M.match_terminate(context, dispatcher, tick, state, grace_seconds)
  return state
end

function M.match_signal(context, dispatcher, tick, state, data)
  return state, tostring(tick)
end

nk.register_rpc(function(context, payload)
  local p = nk.json_decode(payload)
  local ids = {}
  for i = 1, p.count do ids[i] = nk.match_create("bench_match", { rate = p.rate }) end
  return nk.json_encode({ ids = ids })
end, "bench_match_create")

return M
