-- bench_storage.lua: the storage RPCs of bench/storage.py (bench.lua stays the module shared
-- with the Nakama reference runs, unchanged). Plain nk.storage_* calls, as a game makes them.
local nk = require("nakama")

-- bench_storage.write: writes one object owned by the caller (key = the payload, or "k");
-- returns its version. One validated, durable write.
local function write(context, payload)
  local key = (payload ~= nil and payload ~= "") and payload or "k"
  local acks = nk.storage_write({ { collection = "bench", key = key, user_id = context.user_id,
    value = { hp = 100, name = "bench", items = { 1, 2, 3 } } } })
  return acks[1].version
end

-- bench_storage.read: reads that object back (its value decoded into a table); returns its version.
local function read(context, payload)
  local key = (payload ~= nil and payload ~= "") and payload or "k"
  local objects = nk.storage_read({ { collection = "bench", key = key, user_id = context.user_id } })
  if objects[1] == nil then return "" end
  return objects[1].version
end

nk.register_rpc(write, "bench_storage.write")
nk.register_rpc(read, "bench_storage.read")
