-- Benchmark RPCs for bench/notifications.py: one call notifies every user of a list, or
-- sends one stream_send to the bench stream those users' sockets joined (the reference).
local nk = require("nakama")

local STREAM = { mode = 123, label = "bench" }

-- setup: remember the users to notify (a JSON array of user ids), shared by every VM.
nk.register_rpc(function(context, payload)
  nk.localcache_put("bench_notify.users", nk.json_decode(payload))
end, "bench_notify.setup")

local function notify(persistent)
  return function(context, payload)
    local batch = {}
    for i, user_id in ipairs(nk.localcache_get("bench_notify.users") or {}) do
      batch[i] = { user_id = user_id, subject = "bench", content = { n = i }, code = 1, persistent = persistent }
    end
    nk.notifications_send(batch)
  end
end
nk.register_rpc(notify(false), "bench_notify.live")
nk.register_rpc(notify(true), "bench_notify.stored")

nk.register_rpc(function(context, payload)
  nk.stream_send(STREAM, '{"n":1}', nil, true)
end, "bench_notify.fanout")
