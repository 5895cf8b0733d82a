-- RPCs the Nakama client SDK test suites call (nakama-js client-rpc.test.ts and
-- socket.test.ts, nakama-java StreamTest.java).
local nk = require("nakama")

local STREAM_DATA_TEST = { mode = 20, label = "Stream Data Test" }

-- clientrpc.send_stream_data: join the caller (visible, not persisted), then send it the
-- payload; the client sees its own join event, then the stream data.
local function send_stream_data(context, payload)
  nk.stream_user_join(context.user_id, context.session_id, STREAM_DATA_TEST, false, false)
  nk.stream_send(STREAM_DATA_TEST, payload)
end

-- clientrpc.rpc: echo the payload.
local function rpc(context, payload)
  return payload
end

-- clientrpc.rpc_get: a fixed answer for GET requests (which carry no payload).
local function rpc_get(context, payload)
  return nk.json_encode({ message = "PONG" })
end

-- clientrpc.rpc_error: always fails.
local function rpc_error(context, payload)
  error("Some error occurred.")
end

nk.register_rpc(send_stream_data, "clientrpc.send_stream_data")
nk.register_rpc(rpc, "clientrpc.rpc")
nk.register_rpc(rpc_get, "clientrpc.rpc_get")
nk.register_rpc(rpc_error, "clientrpc.rpc_error")
