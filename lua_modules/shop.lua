-- shop.lua: a coin economy on the player's wallet (nk.wallet_update and its ledger), from RPCs.
--   shop.daily    {}                             -> {"granted": 100, "wallet": {...}}   once per UTC day
--   shop.buy      {"item": "sword"}              -> {"wallet": {...}}                   coins for an item
--   shop.history  {"limit": 10, "cursor": "..."} -> {"entries": [...], "cursor": "..."} newest first
-- Prices live here, on the server. A purchase is one wallet change ({coins = -price, sword = 1}):
-- a player short of coins gets error code 9 and keeps everything, and two purchases at once
-- never spend the same coins (the wallet refuses to go below zero). The daily grant first
-- claims the day with a storage object written with version "*" (it must not exist yet), so
-- of two racing claims only one is paid. Every change goes to the ledger with its reason.
local nk = require("nakama")
local args = require("payload").object

local DAILY_COINS = 100
local PRICES = { sword = 250, shield = 150, potion = 40 }

local function daily(context, payload)
  local day = os.date("!%Y-%m-%d")
  local claimed = pcall(nk.storage_write, { {
    collection = "shop", key = "daily-" .. day, user_id = context.user_id,
    value = { day = day }, version = "*", permission_read = 1, permission_write = 0,
  } })
  if not claimed then
    error({ "daily reward already claimed today", 6 }) -- ALREADY_EXISTS
  end
  local wallet = nk.wallet_update(context.user_id, { coins = DAILY_COINS }, { reason = "daily", day = day }, true)
  return nk.json_encode({ granted = DAILY_COINS, wallet = wallet })
end

local function buy(context, payload)
  local item = args(payload).item
  local price = PRICES[item]
  if not price then
    error({ "unknown item: " .. tostring(item), 3 })
  end
  local ok, wallet = pcall(nk.wallet_update, context.user_id, { coins = -price, [item] = 1 },
    { reason = "buy", item = item, price = price }, true)
  if not ok then
    if string.find(tostring(wallet), "rejected negative value", 1, true) then
      error({ "not enough coins for " .. item, 9 }) -- FAILED_PRECONDITION
    end
    error(wallet)
  end
  return nk.json_encode({ wallet = wallet })
end

local function history(context, payload)
  local input = args(payload)
  local items, cursor = nk.wallet_ledger_list(context.user_id, input.limit or 10, input.cursor)
  local entries = {}
  for i, item in ipairs(items) do
    entries[i] = { changeset = item.changeset, metadata = item.metadata, time = item.create_time }
  end
  return nk.json_encode({ entries = entries, cursor = cursor ~= "" and cursor or nil })
end

nk.register_rpc(daily, "shop.daily")
nk.register_rpc(buy, "shop.buy")
nk.register_rpc(history, "shop.history")
