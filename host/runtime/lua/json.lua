-- Trusted JSON encoder for nk.json_encode (Lua 5.1 / LuaJIT 2.1).
--
-- Loaded once per VM by the trusted prelude, before the sandbox exists. Every library function is
-- captured into a local here, so a script that later replaces a global (or a field of a shared
-- library table) cannot change what the encoder does. The chunk returns { encode = encode }.
--
-- Rules (Nakama's RuntimeLuaConvertLuaValue + Go's encoding/json):
--   * a table with #t > 0 is an array of t[1..#t] (holes -> null, other keys dropped);
--     any other table is an object, so an empty table encodes as {}
--   * object keys are sorted (Go sorts map keys); a string key is used as is, a number key is
--     formatted like a number value, a boolean key as "true"/"false"; if two keys give the same
--     text (1 and "1") one of them wins, as in Nakama; infinite numbers and other key types are
--     an error
--   * a whole number within [-2^63, 2^63) is written as an integer; any other finite number as the
--     shortest of %.15g / %.16g / %.17g that reads back as the same double; NaN and +-Inf are an
--     error
--   * strings: `"`, `\` and control bytes are escaped (\n \r \t \b \f, else \u00XX); valid UTF-8
--     passes through unchanged; each byte of an invalid UTF-8 sequence becomes \ufffd (as Go does),
--     so the output is always valid UTF-8 JSON
--   * functions, userdata, threads and cdata are an error (Nakama writes a function's tostring,
--     which leaks an address and hides a bug; we refuse instead)
--   * nesting deeper than 64 tables is an error (this also stops self-referencing tables)
-- Table contents are read raw (next/rawget when a metatable is present), so encoding never runs a
-- metamethod. Errors are raised at level 0 (no position): the nk binding adds the caller's.

local type, next, error, getmetatable, rawget, tonumber, tostring =
      type, next, error, getmetatable, rawget, tonumber, tostring
local format, find, gsub, byte, sub, char = string.format, string.find, string.gsub, string.byte,
      string.sub, string.char
local concat, sort = table.concat, table.sort
local floor, huge = math.floor, math.huge

local MAX_DEPTH = 64
local INT_LIMIT = 2 ^ 63
local PREFIX = "error encoding to JSON: "

-- Replacement text for every byte that must be escaped in a JSON string.
local ESCAPES = {}
for i = 0, 31 do ESCAPES[char(i)] = format("\\u%04x", i) end
ESCAPES["\""], ESCAPES["\\"] = "\\\"", "\\\\"
ESCAPES["\n"], ESCAPES["\r"], ESCAPES["\t"], ESCAPES["\b"], ESCAPES["\f"] =
  "\\n", "\\r", "\\t", "\\b", "\\f"

-- A string made only of printable ASCII other than `"` and `\` is copied as is. This anchored
-- pattern is the fast check: one pass, 2-3x faster than searching for a bad byte.
local PLAIN = "^[] !#-[^-~]*$"
local NEEDS_ESCAPE = "[%z\1-\31\"\\]"
local HIGH_BYTE = "[\128-\255]"

-- Length of the valid UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0 when it is invalid
-- (overlong forms, surrogates and code points above U+10FFFF are invalid, as in Go).
local function utf8_length(s, i)
  local c = byte(s, i)
  local extra, lo, hi = 0, 128, 191
  if c >= 194 and c <= 223 then
    extra = 1
  elseif c >= 224 and c <= 239 then
    extra = 2
    if c == 224 then lo = 160 elseif c == 237 then hi = 159 end
  elseif c >= 240 and c <= 244 then
    extra = 3
    if c == 240 then lo = 144 elseif c == 244 then hi = 143 end
  else
    return 0
  end
  local b = byte(s, i + 1)
  if not b or b < lo or b > hi then return 0 end
  for j = i + 2, i + extra do
    b = byte(s, j)
    if not b or b < 128 or b > 191 then return 0 end
  end
  return extra + 1
end

-- s with every byte that starts no valid UTF-8 sequence replaced by the escape \ufffd. Runs after
-- escaping, which only touches ASCII, so the inserted backslash is never escaped again.
local function repair_utf8(s)
  local parts, m, copied = nil, 0, 1
  local i = find(s, HIGH_BYTE)
  while i do
    local len = utf8_length(s, i)
    if len == 0 then
      parts = parts or {}
      parts[m + 1], parts[m + 2] = sub(s, copied, i - 1), "\\ufffd"
      m = m + 2
      copied = i + 1
      len = 1
    end
    i = find(s, HIGH_BYTE, i + len)
  end
  if not parts then return s end
  parts[m + 1] = sub(s, copied)
  return concat(parts)
end

-- The JSON string body for s (without the quotes).
local function string_body(s)
  if find(s, PLAIN) then return s end
  if find(s, NEEDS_ESCAPE) then s = gsub(s, NEEDS_ESCAPE, ESCAPES) end
  if find(s, HIGH_BYTE) then s = repair_utf8(s) end
  return s
end

-- Text of a finite number: an integer when whole and within int64, else the shortest %g form.
local function number_text(v)
  if v == floor(v) and v >= -INT_LIMIT and v < INT_LIMIT then
    -- tostring writes whole numbers below 1e14 in full ("%.14g") and is cheaper than format;
    -- -0 must still come out as 0
    if v < 1e14 and v > -1e14 then
      if v == 0 then return "0" end
      return tostring(v)
    end
    return format("%d", v)
  end
  local s = format("%.15g", v)
  if tonumber(s) ~= v then
    s = format("%.16g", v)
    if tonumber(s) ~= v then s = format("%.17g", v) end
  end
  return s
end

-- Go's names for the values encoding/json refuses.
local function check_finite(v)
  if v ~= v then error(PREFIX .. "json: unsupported value: NaN", 0) end
  if v == huge then error(PREFIX .. "json: unsupported value: +Inf", 0) end
  if v == -huge then error(PREFIX .. "json: unsupported value: -Inf", 0) end
end

local function key_text(k)
  local tk = type(k)
  if tk == "string" then return k end
  if tk == "number" then
    check_finite(k)
    return number_text(k)
  end
  if tk == "boolean" then return k and "true" or "false" end
  error(PREFIX .. "json: unsupported key type: " .. tk, 0)
end

-- Object keys repeat across objects and calls, so their escaped bodies are memoised: a table
-- lookup is ~10x cheaper than the pattern check. Bounded: keys up to 64 bytes, and the cache is
-- dropped once it holds 1024 of them, so a script cannot grow it without limit.
local KEY_CACHE_MAX, KEY_CACHE_KEY_LEN = 1024, 64
local key_cache, key_cache_size = {}, 0

local function key_body(k)
  local body = key_cache[k]
  if body then return body end
  body = string_body(k)
  if #k <= KEY_CACHE_KEY_LEN then
    if key_cache_size >= KEY_CACHE_MAX then key_cache, key_cache_size = {}, 0 end
    key_cache[k] = body
    key_cache_size = key_cache_size + 1
  end
  return body
end

local encode_table

-- Appends the encoding of v to buf[n+1..]; returns the new n. The scalar cases are also written
-- out inline in encode_table (the common path, no call per value); keep them in step.
local function encode_value(v, buf, n, depth)
  local tv = type(v)
  if tv == "string" then
    if find(v, PLAIN) == nil then v = string_body(v) end
    buf[n + 1], buf[n + 2], buf[n + 3] = "\"", v, "\""
    return n + 3
  elseif tv == "number" then
    if v ~= v or v == huge or v == -huge then check_finite(v) end
    buf[n + 1] = number_text(v)
    return n + 1
  elseif tv == "table" then
    return encode_table(v, buf, n, depth + 1)
  elseif tv == "boolean" then
    buf[n + 1] = v and "true" or "false"
    return n + 1
  elseif tv == "nil" then
    buf[n + 1] = "null"
    return n + 1
  end
  error(PREFIX .. "json: unsupported type: " .. tv, 0)
end
-- Object keys as sorted texts, and a text -> value map when some key was not a string (so that
-- keys of different types with the same text collapse into one, as in Nakama's Go map).
local function object_keys(t)
  local keys, count, converted = {}, 0, nil
  for k, v in next, t do
    count = count + 1
    if type(k) == "string" then
      keys[count] = k
    else
      local text = key_text(k)
      keys[count] = text
      converted = converted or {}
      converted[text] = v
    end
  end
  if converted then
    -- Rare path: rebuild the key list without duplicates; string keys keep their own value.
    for k, v in next, t do
      if type(k) == "string" then converted[k] = v end
    end
    keys, count = {}, 0
    for text in next, converted do
      count = count + 1
      keys[count] = text
    end
  end
  sort(keys)
  return keys, count, converted
end

encode_table = function(t, buf, n, depth)
  if depth > MAX_DEPTH then
    error(PREFIX .. "nesting deeper than " .. MAX_DEPTH .. " levels", 0)
  end
  local raw = getmetatable(t) ~= nil
  local len = #t
  if len > 0 then
    n = n + 1
    buf[n] = "["
    for i = 1, len do
      local v
      if raw then v = rawget(t, i) else v = t[i] end
      if i > 1 then
        n = n + 1
        buf[n] = ","
      end
      local tv = type(v)
      if tv == "string" then
        if find(v, PLAIN) == nil then v = string_body(v) end
        buf[n + 1], buf[n + 2], buf[n + 3] = "\"", v, "\""
        n = n + 3
      elseif tv == "number" and v == v and v ~= huge and v ~= -huge then
        n = n + 1
        buf[n] = number_text(v)
      else
        n = encode_value(v, buf, n, depth)
      end
    end
    n = n + 1
    buf[n] = "]"
    return n
  end
  local keys, count, converted = object_keys(t)
  n = n + 1
  buf[n] = "{"
  for i = 1, count do
    local k = keys[i]
    local v
    if converted then v = converted[k] else v = rawget(t, k) end
    buf[n + 1], buf[n + 2], buf[n + 3] = i > 1 and ",\"" or "\"", key_cache[k] or key_body(k), "\":"
    n = n + 3
    local tv = type(v)
    if tv == "string" then
      if find(v, PLAIN) == nil then v = string_body(v) end
      buf[n + 1], buf[n + 2], buf[n + 3] = "\"", v, "\""
      n = n + 3
    elseif tv == "number" and v == v and v ~= huge and v ~= -huge then
      n = n + 1
      buf[n] = number_text(v)
    else
      n = encode_value(v, buf, n, depth)
    end
  end
  n = n + 1
  buf[n] = "}"
  return n
end

local function encode(value)
  if value == nil then error("expects a non-nil value to encode", 0) end
  local buf = {}
  local n = encode_value(value, buf, 0, 0)
  return concat(buf, "", 1, n)
end

return { encode = encode }
