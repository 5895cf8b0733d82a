-- The "Global Chat Room" examples from the seed document: one custom stream (mode 2,
-- label "Global Chat Room") that callers join, leave, inspect and broadcast to over RPC.
-- Every RPC acts on the calling socket session (ctx.user_id, ctx.session_id), so call them
-- over the realtime socket.
local nk = require("nakama")

local STREAM = { mode = 2, label = "Global Chat Room" }

-- join: track the caller on the room; returns {"joined":true} when newly joined.
local function join(context, payload)
  local joined = nk.stream_user_join(context.user_id, context.session_id, STREAM)
  return nk.json_encode({ joined = joined })
end

-- leave: untrack the caller (a no-op when not on the room).
local function leave(context, payload)
  nk.stream_user_leave(context.user_id, context.session_id, STREAM)
end

-- check: whether the caller is on the room, as {"present":true|false}.
local function check(context, payload)
  local meta = nk.stream_user_get(context.user_id, context.session_id, STREAM)
  return nk.json_encode({ present = meta ~= nil })
end

-- hide: stay on the room but hidden from presence events and listings.
local function hide(context, payload)
  nk.stream_user_update(context.user_id, context.session_id, STREAM, true)
end

-- send: broadcast the payload to everyone on the room (the caller included).
local function send(context, payload)
  nk.stream_send(STREAM, payload)
end

-- close: remove everyone from the room, without presence events.
local function close(context, payload)
  nk.stream_close(STREAM)
end

-- count: how many are on the room, hidden members included, as {"count":N}.
local function count(context, payload)
  return nk.json_encode({ count = nk.stream_count(STREAM) })
end

-- list: the visible members, as a JSON array of presences.
local function list(context, payload)
  local members = nk.stream_user_list(STREAM, false, true)
  local out = {}
  for i, p in ipairs(members) do
    out[i] = { user_id = p.user_id, session_id = p.session_id, username = p.username }
  end
  return nk.json_encode(out)
end

nk.register_rpc(join, "join")
nk.register_rpc(leave, "leave")
nk.register_rpc(check, "check")
nk.register_rpc(hide, "hide")
nk.register_rpc(send, "send")
nk.register_rpc(close, "close")
nk.register_rpc(count, "count")
nk.register_rpc(list, "list")
