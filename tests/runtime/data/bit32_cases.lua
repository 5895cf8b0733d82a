-- Generates tests/runtime/data/bit32_lua52.json: bit32 expressions and what Lua 5.2 answers.
--   lua5.2 tests/runtime/data/bit32_cases.lua > tests/runtime/data/bit32_lua52.json
-- (Debian: apt-get install lua5.2). test_bit32.py evaluates the same expressions in nkhost's
-- sandbox and compares; it regenerates the table too when lua5.2 is installed.
local values = {
  "0", "1", "-1", "2", "7", "0x7FFFFFFF", "0x80000000", "0xFFFFFFFF", "2^31", "-2^31", "2^32",
  "2^32-1", "2^32+1", "2^32+5", "-2^32", "-2^32-1", "2^33+3", "0x12345678", "0xDEADBEEF", "0xF0F0F0F0",
  "0.5", "1.5", "2.5", "3.5", "-0.5", "-1.5", "-2.5", "3.7", "-3.7", "0.49999999999999994",
  "2^40+0.5", "-2^40-1.5", "1e10", "-1e10", "2^50+1", "-2^50-1",
  '"10"', '"0x10"', '" 7 "', '"1e2"', '"-3"', '"2.5"',
}
local counts = {
  "0", "1", "-1", "2", "4", "8", "16", "31", "32", "33", "-31", "-32", "-33", "64", "-64",
  "1.9", "-1.9", "0.5", "-0.5", "2^31", "-2^31", "2^32", "2^32+3", "100", "-100", '"3"',
}
local bad = { "nil", "{}", "true", '"x"', '"inf"', '"nan"', '"0x"', "print" }

local cases = {}
local function add(e) cases[#cases + 1] = e end

for _, f in ipairs({ "band", "bor", "bxor", "btest", "bnot" }) do
  add("bit32." .. f .. "()")
  for _, v in ipairs(values) do add("bit32." .. f .. "(" .. v .. ")") end
  for _, v in ipairs(bad) do add("bit32." .. f .. "(" .. v .. ")") end
end
local pairs_of = { "0", "-1", "0xFFFFFFFF", "0x80000000", "2^32+5", "1.5", "-1.5", "0xDEADBEEF", "0x12345678", '"0x10"', "-2^31", "3.7" }
for _, f in ipairs({ "band", "bor", "bxor", "btest" }) do
  for _, a in ipairs(pairs_of) do
    for _, b in ipairs(pairs_of) do add("bit32." .. f .. "(" .. a .. ", " .. b .. ")") end
  end
  add("bit32." .. f .. "(1, 2, 4, 8)")
  add("bit32." .. f .. "(0xFF, 0x0F, 0xF3)")
  add("bit32." .. f .. "(-1, -2, -4)")
  add("bit32." .. f .. "(1, nil)")
  add("bit32." .. f .. "(1, 2, {})")
  add("bit32." .. f .. "(1, '3', 'y')")
end
local shift_values = { "0", "1", "-1", "0x80000000", "0xFFFFFFFF", "0x12345678", "2^32+5", "-1.5", "2.5", '"0x10"' }
for _, f in ipairs({ "lshift", "rshift", "arshift", "lrotate", "rrotate" }) do
  for _, v in ipairs(shift_values) do
    for _, c in ipairs(counts) do add("bit32." .. f .. "(" .. v .. ", " .. c .. ")") end
  end
  add("bit32." .. f .. "()")
  add("bit32." .. f .. "(1)")
  add("bit32." .. f .. "(1, nil)")
  for _, v in ipairs(bad) do
    add("bit32." .. f .. "(" .. v .. ", 1)")
    add("bit32." .. f .. "(1, " .. v .. ")")
  end
end
local fields = { "0", "1", "7", "8", "16", "31", "32", "-1", "1.9", "-0.5", "30.9", '"4"' }
local widths = { "nil", "1", "2", "4", "8", "16", "31", "32", "33", "0", "-1", "1.9", "0.9", '"3"' }
for _, v in ipairs({ "0xFFFFFFFF", "0x12345678", "-1.5", "0xDEADBEEF" }) do
  for _, f in ipairs(fields) do
    for _, w in ipairs(widths) do
      add("bit32.extract(" .. v .. ", " .. f .. ", " .. w .. ")")
      add("bit32.replace(" .. v .. ", 0x5A5A5A5A, " .. f .. ", " .. w .. ")")
    end
    add("bit32.extract(" .. v .. ", " .. f .. ")")
    add("bit32.replace(" .. v .. ", -1, " .. f .. ")")
  end
end
for _, e in ipairs({
  "bit32.extract()", "bit32.extract(1)", "bit32.extract(1, nil)", "bit32.extract('x', 1)",
  "bit32.extract(1, 'x')", "bit32.extract(1, 1, 'x')", "bit32.extract(1, 1, {})",
  "bit32.replace()", "bit32.replace(1)", "bit32.replace(1, 2)", "bit32.replace(1, 'x', 3)",
  "bit32.replace({}, 1, 3)", "bit32.replace(1, 2, 3, true)", "bit32.replace(0, 2^32+3, 0, 4)",
  "bit32.replace(1, 1, 31, 2)", "bit32.extract(1, 32)", "bit32.extract(1, 0, 33)",
  "bit32.replace(0xFFFFFFFF, 0, 31)", "bit32.replace(0, 1, 31)", "bit32.extract(0x80000000, 31)",
}) do add(e) end

-- Output: a JSON array of [expression, "ok", results...] or [expression, "error", message]
-- (the message without its "file:line: " position).
local function q(s) return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"' end
local function pack(...) return { n = select("#", ...), ... } end
io.write("[\n")
for i, e in ipairs(cases) do
  local r = pack(pcall(assert(load("return " .. e))))
  local items = { q(e) }
  if r[1] then
    items[2] = q("ok")
    for j = 2, r.n do
      local v = r[j]
      items[#items + 1] = type(v) == "number" and string.format("%.17g", v) or tostring(v)
    end
  else
    items[2] = q("error")
    items[3] = q((tostring(r[2]):gsub("^[^:]*:%d+: ", "")))
  end
  io.write("  [", table.concat(items, ", "), "]", i < #cases and ",\n" or "\n")
end
io.write("]\n")
