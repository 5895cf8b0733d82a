-- Trusted glue of an authoritative match's VM: runs once, after the prelude, in the real globals.
--
-- The handler module's callbacks and the match state live here and never cross to Python:
-- each entry point below runs one callback under the limits (armed like host.call), checks
-- what it returned with Nakama's rules and texts, and answers with a status:
--   1 ok (plus the callback's extra results), 0 the state was nil (the match ends),
--   2 the callback raised (message, traceback), 3 it returned the wrong values (message, where).
--
-- Arguments (from host/runtime/match_vm.py):
--   I         the prelude's host.internals
--   pydisp    name -> Python callable behind the dispatcher functions (status tuples, as nk's)
--   match_id  "<uuid>.<node>"
local I, pydisp, match_id = ...

local type, select, tostring, rawget, ipairs, pairs, floor = type, select, tostring, rawget, ipairs, pairs, math.floor
local xpcall = xpcall
local arm, st, on_error, describe, last_trace, set_ctx = I.arm, I.st, I.on_error, I.describe, I.last_trace, I.set_ctx

local NAMES = { "match_init", "match_join_attempt", "match_join", "match_leave", "match_loop", "match_terminate", "match_signal" }
local LABEL_MAX = 2048

local F = {} -- the callbacks, captured when the match opens
local state
local ctx = {
  env = I.copy(I.ENV), execution_mode = "match", node = I.NODE, version = I.VERSION,
  runtime_generation = I.GENERATION, match_id = match_id, match_node = I.NODE,
}

local label_update = I.bind(pydisp.match_label_update)
local dispatcher = I.readonly({
  broadcast_message = I.bind(pydisp.broadcast_message),
  broadcast_message_deferred = I.bind(pydisp.broadcast_message_deferred),
  match_kick = I.bind(pydisp.match_kick),
  match_label_update = function(label)
    ctx.match_label = label_update(label) -- the label as stored (Nakama: OptString, "" for nil)
  end,
}, "dispatcher")

local glue = {}

-- "file:line" of a callback's definition, for errors about what it returned.
local function where(name)
  local info = I.getinfo(F[name], "S")
  local src = info.source
  if src:sub(1, 1) == "@" then src = src:sub(2) end
  return src .. ":" .. tostring(info.linedefined)
end

local function counted(ok, ...)
  return ok, select("#", ...), ...
end

local function enter()
  set_ctx(ctx)
  arm()
end

local function leave()
  st.armed = false
  set_ctx(nil)
end

local function failed(e)
  local message = describe(e)
  return 2, message, last_trace()
end

-- "file:line" of a callback's definition (for a limit hit, which has no position of its own).
function glue.where(name)
  if F[name] == nil then return "" end
  return where(name)
end

-- Binds the handler module (already loaded with host.load_module); nil or the error text.
function glue.open(name)
  local m = I.require(name) -- cached: the module's top level ran in load_module
  if type(m) ~= "table" then return "match module must return a table containing the match callback functions" end
  for _, k in ipairs(NAMES) do
    local fn = rawget(m, k)
    if type(fn) ~= "function" then return k .. " not found or not a function" end
    F[k] = fn
  end
end

-- match_init(ctx, params) -> state, tick_rate, label. Returns 1, rate, label or a failure.
function glue.init(params)
  enter()
  local ok, n, s, rate, label = counted(xpcall(F.match_init, on_error, ctx, params))
  leave()
  if not ok then return failed(s) end
  local w = "match_init"
  if n > 3 then return 3, "match_init returned too many arguments, must be: state, tick rate number, label string", where(w) end
  if type(label) ~= "string" then return 3, "match_init returned unexpected third value, must be a label string", where(w) end
  if #label > LABEL_MAX then return 3, "match_init returned invalid label, must be " .. LABEL_MAX .. " bytes or less", where(w) end
  if type(rate) ~= "number" then return 3, "match_init returned unexpected second value, must be a tick rate number", where(w) end
  rate = rate >= 0 and floor(rate) or -floor(-rate)
  if rate > 60 or rate < 1 then return 3, "match_init returned invalid tick rate, must be between 1 and 60", where(w) end
  if s == nil then return 3, "Match initial state must not be nil", where(w) end
  state = s
  ctx.match_label, ctx.match_tick_rate = label, rate
  return 1, rate, label
end

-- presence tables from a flat array: user_id, session_id, username, node[, reason] per presence
local function presences(flat, n, width)
  local out = {}
  for i = 0, n - 1 do
    local b = i * width
    local p = { user_id = flat[b + 1], session_id = flat[b + 2], username = flat[b + 3], node = flat[b + 4] }
    if width == 5 then p.reason = flat[b + 5] end
    out[i + 1] = p
  end
  return out
end

-- match_join_attempt(ctx, dispatcher, tick, state, presence, metadata) -> state, allow[, reason].
-- joiner: the joining user's context fields, laid over a copy of the match context.
function glue.join_attempt(tick, p, metadata, joiner)
  local c = I.copy(ctx)
  for k, v in pairs(joiner) do c[k] = v end
  local presence = { user_id = p[1], session_id = p[2], username = p[3], node = p[4] }
  set_ctx(c)
  arm()
  local ok, n, r1, r2, r3 = counted(xpcall(F.match_join_attempt, on_error, c, dispatcher, tick, state, presence, metadata))
  leave()
  if not ok then return failed(r1) end
  local w = "match_join_attempt"
  local values = { r1, r2, r3 }
  if n == 0 then
    return 3, "Match join attempt returned too few values, stopping match - expected: state, join result boolean, optional reject reason string", where(w)
  end
  local last = n <= 3 and values[n] or nil
  local allow, reason, k
  if n > 3 then
    return 3, "Match join attempt returned too many values, stopping match", where(w)
  elseif type(last) == "string" then
    reason, k = last, n - 1
    if k < 1 then
      return 3, "Match join attempt returned incorrect or too few values, stopping match - expected: state, join result boolean, optional reject reason string", where(w)
    end
    if type(values[k]) ~= "boolean" then return 3, "Match join attempt returned non-boolean join result, stopping match", where(w) end
    allow = values[k]
  elseif type(last) == "boolean" then
    allow, k = last, n
  else
    return 3, "Match join attempt returned non-boolean join result or non-string reject reason, stopping match", where(w)
  end
  if k < 2 or values[k - 1] == nil then return 0 end
  if k > 2 then return 3, "Match join attempt returned too many values, stopping match", where(w) end
  state = values[1]
  return 1, allow, reason
end

-- The callbacks that return only the state: name(ctx, dispatcher, tick, state, arg) -> state;
-- `what` names them in Nakama's texts.
local function state_call(name, what, tick, arg)
  enter()
  local ok, n, r1 = counted(xpcall(F[name], on_error, ctx, dispatcher, tick, state, arg))
  leave()
  if not ok then return failed(r1) end
  if n == 0 or r1 == nil then return 0 end
  if n > 1 then return 3, what .. " returned too many values, stopping match", where(name) end
  state = r1
  return 1
end

function glue.join(tick, flat, n)
  return state_call("match_join", "Match join", tick, presences(flat, n, 5))
end

function glue.leave(tick, flat, n)
  return state_call("match_leave", "Match leave", tick, presences(flat, n, 5))
end

-- flat: per message user_id, session_id, username, node, op_code, data (nil: none), reliable,
-- receive_time_ms.
function glue.loop(tick, flat, n)
  local messages = {}
  for i = 0, n - 1 do
    local b = i * 8
    messages[i + 1] = {
      sender = { user_id = flat[b + 1], session_id = flat[b + 2], username = flat[b + 3], node = flat[b + 4] },
      op_code = flat[b + 5], data = flat[b + 6], reliable = flat[b + 7], receive_time_ms = flat[b + 8],
    }
  end
  return state_call("match_loop", "Match loop", tick, messages)
end

function glue.terminate(tick, grace)
  return state_call("match_terminate", "Match terminate", tick, grace)
end

-- match_signal(...) -> state, response string or nil. A lone state means no response (Nakama
-- reads the state as the response and fails the match).
function glue.signal(tick, data)
  enter()
  local ok, n, s, response = counted(xpcall(F.match_signal, on_error, ctx, dispatcher, tick, state, data))
  leave()
  if not ok then return failed(s) end
  if n > 2 then return 3, "Match signal returned too many values, stopping match", where("match_signal") end
  if response ~= nil and type(response) ~= "string" then
    return 3, "Match signal returned non-string result, stopping match", where("match_signal")
  end
  if n == 0 or s == nil then return 0, response end
  state = s
  return 1, response
end

return glue
