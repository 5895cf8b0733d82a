-- Trusted: Lua 5.2's bit32 library on top of LuaJIT's bit, loaded once per VM by the prelude
-- (lua/sandbox.lua), which exposes it read-only. Nakama's Lua (5.1) ships bit32 with the 5.2
-- semantics; LuaJIT has only `bit`, whose results are signed.
--
-- What 5.2 does (lbitlib.c, llimits.h), and how it is done here:
-- * Operands are converted to 32 bits by rounding to nearest (ties to even) and taking the value
--   modulo 2^32: 5.2 adds 1.5 * 2^52 and keeps the low word (LUA_IEEE754TRICK on x86), exactly
--   what bit.tobit does. Results are unsigned: 0 .. 2^32 - 1.
-- * Shift counts and field positions are luaL_checkint: truncated toward zero, then cut to a C
--   int (so 2^32 as a count is 0, and an infinite or NaN count is 0, as on x86).
-- * Shifts by 32 or more give 0; a negative count shifts the other way; arshift by 32 or more
--   of a "negative" number gives 0xFFFFFFFF; rotations take the count modulo 32.
-- * Numeric strings are accepted as numbers ("0x10", " 7 "), but not "inf" or "nan".
-- Error texts are 5.2's ("bad argument #1 to 'band' (number expected, got string)"), raised at
-- the caller's line.
-- raise(msg): error at the first frame outside this chunk, the caller's line (the prelude's).
local bit, math, raise = ...

local tobit, band, bor, bxor, bnot = bit.tobit, bit.band, bit.bor, bit.bxor, bit.bnot
local lshift, rshift, arshift, rol = bit.lshift, bit.rshift, bit.arshift, bit.rol
local floor, ceil, fmod, huge = math.floor, math.ceil, math.fmod, math.huge
local type, tonumber, select, format, find = type, tonumber, select, string.format, string.find

local P32, P31 = 4294967296, 2147483648

local function argerror(i, fname, msg)
  raise(format("bad argument #%d to '%s' (%s)", i, fname, msg))
end

-- A number argument: numbers as they are, numeric strings converted (5.2's cvt2num rejects
-- "inf" and "nan"). `n` is the number of arguments actually passed, for "got no value".
local function number(v, i, n, fname)
  local tv = type(v)
  if tv == "number" then return v end
  if tv == "string" and not find(v, "[nN]") then
    local x = tonumber(v)
    if x then return x end
  end
  argerror(i, fname, "number expected, got " .. (i > n and "no value" or tv))
end

-- lua_Unsigned as a Lua number 0 .. 2^32 - 1, from bit's signed 32-bit result.
local function u(x)
  if x < 0 then return x + P32 end
  return x
end

-- luaL_checkint: truncate toward zero, then wrap into a C int (x86 turns an out-of-range or
-- NaN double into INT64_MIN, whose low 32 bits are 0).
local function int(v, i, n, fname)
  local x = number(v, i, n, fname)
  if x ~= x or x >= 2^63 or x < -2^63 then return 0 end
  x = x >= 0 and floor(x) or ceil(x)
  if x >= P31 or x < -P31 then
    x = fmod(x, P32)
    if x >= P31 then x = x - P32 elseif x < -P31 then x = x + P32 end
  end
  return x
end

local function uarg(v, i, n, fname)
  return tobit(number(v, i, n, fname))
end

-- Logical shift of the 32-bit value r (signed bit form): left for i >= 0, right for i < 0.
local function shift(r, i)
  if i < 0 then
    if i <= -32 then return 0 end
    return u(rshift(r, -i))
  end
  if i >= 32 then return 0 end
  return u(lshift(r, i))
end

local function fold(op, start, fname, ...)
  local n = select("#", ...)
  local r = start
  for i = 1, n do r = op(r, uarg((select(i, ...)), i, n, fname)) end
  return r
end

local function fieldargs(fname, farg, n, f, w)
  f = int(f, farg, n, fname)
  if w == nil then w = 1 else w = int(w, farg + 1, n, fname) end
  if f < 0 then argerror(farg, fname, "field cannot be negative") end
  if w <= 0 then argerror(farg + 1, fname, "width must be positive") end
  if f + w > 32 then raise("trying to access non-existent bits") end
  return f, w
end

-- The mask of w low bits (1 <= w <= 32), signed form.
local function mask(w)
  if w == 32 then return -1 end
  return lshift(1, w) - 1
end

local bit32 = {}

function bit32.band(...)
  local a, b = ...
  if type(a) == "number" and type(b) == "number" and select("#", ...) == 2 then return u(band(a, b)) end
  return u(fold(band, -1, "band", ...))
end

function bit32.bor(...)
  return u(fold(bor, 0, "bor", ...))
end

function bit32.bxor(...)
  local a, b = ...
  if type(a) == "number" and type(b) == "number" and select("#", ...) == 2 then return u(bxor(a, b)) end
  return u(fold(bxor, 0, "bxor", ...))
end

function bit32.btest(...)
  return fold(band, -1, "btest", ...) ~= 0
end

function bit32.bnot(...)
  return u(bnot(uarg((...), 1, select("#", ...), "bnot")))
end

-- The value (signed bit form) and the count of a shift or rotation. Numbers with a whole count
-- take the short way. Otherwise lshift, rshift and the rotations check the count first: 5.2 reads
-- both inside one C call's argument list, which gcc evaluates right to left (only the error for
-- two bad arguments shows it); arshift reads them in order.
local function operands(fname, count_first, ...)
  local x, i = ...
  if type(x) == "number" and type(i) == "number" and i % 1 == 0 and i > -P31 and i < P31 then
    return tobit(x), i
  end
  local n = select("#", ...)
  if count_first then
    local c = int(i, 2, n, fname)
    return uarg(x, 1, n, fname), c
  end
  return uarg(x, 1, n, fname), int(i, 2, n, fname)
end

function bit32.lshift(...)
  local r, c = operands("lshift", true, ...)
  return shift(r, c)
end

function bit32.rshift(...)
  local r, c = operands("rshift", true, ...)
  return shift(r, -c)
end

function bit32.arshift(...)
  local r, c = operands("arshift", false, ...)
  if c < 0 or r >= 0 then return shift(r, -c) end
  if c >= 32 then return P32 - 1 end
  return u(arshift(r, c))
end

function bit32.lrotate(...)
  local r, c = operands("lrotate", true, ...)
  return u(rol(r, band(c, 31)))
end

function bit32.rrotate(...)
  local r, c = operands("rrotate", true, ...)
  return u(rol(r, band(-c, 31)))
end

function bit32.extract(...)
  local n, x, f, w = select("#", ...), ...
  local r = uarg(x, 1, n, "extract")
  f, w = fieldargs("extract", 2, n, f, w)
  return u(band(rshift(r, f), mask(w)))
end

function bit32.replace(...)
  local n, x, v, f, w = select("#", ...), ...
  local r, val = uarg(x, 1, n, "replace"), uarg(v, 2, n, "replace")
  f, w = fieldargs("replace", 3, n, f, w)
  local m = mask(w)
  return u(bor(band(r, bnot(lshift(m, f))), lshift(band(val, m), f)))
end

return bit32
