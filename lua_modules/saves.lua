-- saves.lua: per-player save slots in Nakama storage objects, from RPCs (nk.storage_*).
--   saves.put   {"slot": "a", "data": {...}, "version": "<optional OCC version>"}  -> {"version": "..."}
--   saves.get   {"slot": "a"}                                                     -> {"data": {...}, "version": "..."} or {}
--   saves.list  {"limit": 10, "cursor": "..."}                                    -> {"slots": ["a", ...], "cursor": "..."}
--   saves.drop  {"slot": "a"}                                                     -> {}
-- The caller owns its saves (user_id = context.user_id); read 1 / write 0 keeps them out of
-- clients' direct REST writes, so only this module changes them.
local nk = require("nakama")
local args = require("payload").object

local COLLECTION = "saves"

local function slot_of(input)
  if type(input.slot) ~= "string" or input.slot == "" then
    error({ "slot must be a non-empty string", 3 })
  end
  return input.slot
end

local function put(context, payload)
  local input = args(payload)
  local object = {
    collection = COLLECTION, key = slot_of(input), user_id = context.user_id,
    value = input.data or {}, permission_read = 1, permission_write = 0,
  }
  if input.version then object.version = input.version end
  local ok, acks = pcall(nk.storage_write, { object })
  if not ok then
    error({ tostring(acks), 9 }) -- FAILED_PRECONDITION: a stale version, for example
  end
  return nk.json_encode({ version = acks[1].version })
end

local function get(context, payload)
  local objects = nk.storage_read({ { collection = COLLECTION, key = slot_of(args(payload)), user_id = context.user_id } })
  if #objects == 0 then return "{}" end
  return nk.json_encode({ data = objects[1].value, version = objects[1].version })
end

local function list(context, payload)
  local input = args(payload)
  local objects, cursor = nk.storage_list(context.user_id, COLLECTION, input.limit or 10, input.cursor)
  local slots = {}
  for i, object in ipairs(objects) do slots[i] = object.key end
  return nk.json_encode({ slots = slots, cursor = cursor })
end

local function drop(context, payload)
  nk.storage_delete({ { collection = COLLECTION, key = slot_of(args(payload)), user_id = context.user_id } })
  return "{}"
end

nk.register_rpc(put, "saves.put")
nk.register_rpc(get, "saves.get")
nk.register_rpc(list, "saves.list")
nk.register_rpc(drop, "saves.drop")
