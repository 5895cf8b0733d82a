-- tictactoe_lobby.lua: the RPC that puts a player into a tic-tac-toe match.
--
-- "tictactoe_find" returns {"match_id": "..."}: a match with a free seat when there is one
-- (found through its label, see tictactoe.lua), else a new one made with nk.match_create.
-- The client then joins it with a match_join (socket.joinMatch in nakama-js).
local nk = require("nakama")

local function find(context, payload)
  local open = nk.match_list(10, true, nil, 0, 1, "+label.open:T")
  if #open > 0 then
    return nk.json_encode({ match_id = open[1].match_id })
  end
  return nk.json_encode({ match_id = nk.match_create("tictactoe", {}) })
end

nk.register_rpc(find, "tictactoe_find")

-- "tictactoe_create" always makes a new match, {"match_id": "..."}: the browser demo
-- (examples/web) creates one here and the other player picks it from the match listing.
local function create(context, payload)
  return nk.json_encode({ match_id = nk.match_create("tictactoe", {}) })
end

nk.register_rpc(create, "tictactoe_create")
