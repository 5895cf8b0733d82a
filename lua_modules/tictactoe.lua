-- tictactoe.lua: an authoritative match handler for two players (nk.match_create("tictactoe")).
--
-- The server owns the board: clients only send moves, and every move is checked here. Written
-- against Nakama's Lua match handler API only, so it runs unchanged on Nakama and on nkhost.
-- tictactoe_lobby.lua registers the RPC that finds or creates a match.
--
-- Op codes (match data):
--   1 START    server -> players  {board, marks = {user_id = 1|2}, mark = whose turn, deadline}
--   2 UPDATE   server -> players  {board, mark, deadline} after a move
--   3 DONE     server -> players  {board, winner = 0 (draw)|1|2, winner_user_id?, reason}
--   4 MOVE     player -> server   {position = 0..8}
--   5 REJECTED server -> sender   {reason}
-- The label is {"open":true} while a seat is free: nk.match_list(..., "+label.open:T") finds it.
local nk = require("nakama")

local START, UPDATE, DONE, MOVE, REJECTED = 1, 2, 3, 4, 5
local TICK_RATE = 5
local TURN_SECONDS = 20
local EMPTY_SECONDS = 30 -- an empty match ends after this long
local X, O = 1, 2

local LINES = {
  { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 }, -- rows
  { 1, 4, 7 }, { 2, 5, 8 }, { 3, 6, 9 }, -- columns
  { 1, 5, 9 }, { 3, 5, 7 },              -- diagonals
}

local function new_board()
  local b = {}
  for i = 1, 9 do b[i] = 0 end
  return b
end

local function winner_of(board)
  for _, l in ipairs(LINES) do
    local m = board[l[1]]
    if m ~= 0 and board[l[2]] == m and board[l[3]] == m then return m end
  end
  for i = 1, 9 do
    if board[i] == 0 then return nil end
  end
  return 0 -- a full board without a line: a draw
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

local function label(state)
  return nk.json_encode({ open = (not state.playing and state.winner == nil and count(state.players) < 2) })
end

local function player_list(state)
  local out = {}
  for _, p in pairs(state.players) do out[#out + 1] = p end
  return out
end

local function send(dispatcher, state, op, body, to)
  dispatcher.broadcast_message(op, nk.json_encode(body), to or player_list(state))
end

local function finish(dispatcher, state, winner, reason)
  state.playing = false
  state.winner = winner
  local body = { board = state.board, winner = winner, reason = reason }
  for user_id, mark in pairs(state.marks) do
    if mark == winner then body.winner_user_id = user_id end
  end
  send(dispatcher, state, DONE, body)
  dispatcher.match_label_update(label(state))
end

local M = {}

function M.match_init(context, params)
  local state = {
    board = new_board(),
    players = {}, -- user_id -> presence
    marks = {},   -- user_id -> X or O
    mark = X,     -- whose turn
    playing = false,
    winner = nil,
    deadline = 0, -- tick by which the current player must move
    empty_ticks = 0,
  }
  return state, TICK_RATE, label(state)
end

function M.match_join_attempt(context, dispatcher, tick, state, presence, metadata)
  if state.players[presence.user_id] ~= nil then
    return state, false, "already playing in this match"
  end
  if count(state.players) >= 2 or state.winner ~= nil then
    return state, false, "match full"
  end
  return state, true
end

function M.match_join(context, dispatcher, tick, state, presences)
  for _, p in ipairs(presences) do
    state.players[p.user_id] = p
    state.marks[p.user_id] = next(state.marks) == nil and X or O
  end
  if count(state.players) == 2 and not state.playing and state.winner == nil then
    state.playing = true
    state.deadline = tick + TURN_SECONDS * TICK_RATE
    send(dispatcher, state, START, { board = state.board, marks = state.marks, mark = state.mark, deadline = state.deadline })
  end
  dispatcher.match_label_update(label(state))
  return state
end

function M.match_leave(context, dispatcher, tick, state, presences)
  for _, p in ipairs(presences) do
    state.players[p.user_id] = nil
    if state.playing then
      -- the one who stays wins by forfeit
      local left = state.marks[p.user_id]
      finish(dispatcher, state, left == X and O or X, "opponent left")
    end
  end
  if next(state.players) == nil and state.winner ~= nil then
    return nil -- the game is over and everyone has gone: end the match
  end
  return state
end

local function move(dispatcher, tick, state, message)
  local sender = message.sender
  local ok, body = pcall(nk.json_decode, message.data or "")
  local position = ok and type(body) == "table" and tonumber(body.position)
  local reason
  if not state.playing then
    reason = "the game has not started"
  elseif state.marks[sender.user_id] ~= state.mark then
    reason = "not your turn"
  elseif position == nil or position < 0 or position > 8 or position % 1 ~= 0 then
    reason = "position must be 0-8"
  elseif state.board[position + 1] ~= 0 then
    reason = "that square is taken"
  end
  if reason ~= nil then
    send(dispatcher, state, REJECTED, { reason = reason }, { sender })
    return
  end
  state.board[position + 1] = state.mark
  local winner = winner_of(state.board)
  if winner ~= nil then
    finish(dispatcher, state, winner, winner == 0 and "draw" or "line")
    return
  end
  state.mark = state.mark == X and O or X
  state.deadline = tick + TURN_SECONDS * TICK_RATE
  send(dispatcher, state, UPDATE, { board = state.board, mark = state.mark, deadline = state.deadline })
end

function M.match_loop(context, dispatcher, tick, state, messages)
  for _, message in ipairs(messages) do
    if message.op_code == MOVE then move(dispatcher, tick, state, message) end
  end
  if state.playing and tick >= state.deadline then
    finish(dispatcher, state, state.mark == X and O or X, "turn timed out")
  end
  if next(state.players) == nil then
    state.empty_ticks = state.empty_ticks + 1
    if state.empty_ticks >= EMPTY_SECONDS * TICK_RATE then return nil end
  else
    state.empty_ticks = 0
  end
  return state
end

function M.match_terminate(context, dispatcher, tick, state, grace_seconds)
  return state
end

function M.match_signal(context, dispatcher, tick, state, data)
  return state, nk.json_encode({ board = state.board, playing = state.playing, winner = state.winner })
end

return M
