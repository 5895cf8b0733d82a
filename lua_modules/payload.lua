-- payload.lua: what the shipped RPC modules share (local payload = require("payload")).
--   payload.object(text) -> the JSON object an RPC's payload holds ({} for an empty payload);
--   any other payload fails the call with code 3 (INVALID_ARGUMENT).
local nk = require("nakama")

local M = {}

function M.object(text)
  local ok, decoded = pcall(nk.json_decode, text ~= "" and text or "{}")
  if not ok or type(decoded) ~= "table" then
    error({ "payload must be a JSON object", 3 })
  end
  return decoded
end

return M
