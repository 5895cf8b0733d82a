-- In-app notifications from the seed document: every socket is on its user's notification
-- stream (mode 0, subject = user id, hidden), which is how notifications reach it live.
local nk = require("nakama")

-- enable_silent_mode: this session stops receiving notifications live (its user's other
-- sessions still do, and persistent notifications are still stored for listing).
local function enable_silent_mode(context, payload)
  nk.stream_user_leave(context.user_id, context.session_id, { mode = 0, subject = context.user_id })
end

-- notify_me: a notification to the caller itself; payload {"subject", "content", "persistent"}.
local function notify_me(context, payload)
  local p = nk.json_decode(payload ~= "" and payload or "{}")
  nk.notification_send(context.user_id, p.subject or "hello", p.content or {}, p.code or 1, "", p.persistent == true)
end

nk.register_rpc(enable_silent_mode, "enable_silent_mode")
nk.register_rpc(notify_me, "notify_me")
