-- Trusted prelude: runs once per VM, in the real globals, before any user code.
--
-- It locks the VM down (lua-runtime-notes §2 and §8), builds the one environment every
-- module shares, and returns the entry points the host calls. Nothing here is reachable
-- from user code except through the closures placed in that environment.
--
-- Arguments (from host/runtime/sandbox.py):
--   cfg      {max_str, max_memory, headroom, max_subject, hook_n, jit, async_hook, timeout, node, version, generation, env,
--             json_src, bit32_src}
--   pyfuncs  name -> Python callable; each returns (true, n, a, b, c) or (false, message)
--   py       {log = fn(level, message), claim_once = fn() -> bool, clock = time.monotonic}
local cfg, pyfuncs, py = ...

local type, tostring, tonumber, error, pairs, select = type, tostring, tonumber, error, pairs, select
local xpcall, pcall, rawset, setmetatable, getmetatable = xpcall, pcall, rawset, setmetatable, getmetatable
local load, lower, format, concat, insert, remove, sort = load, string.lower, string.format, table.concat, table.insert, table.remove, table.sort

-- Monotonic clock for deadlines. Without the JIT: clock_gettime through ffi, captured before
-- ffi is removed (cheap, no GIL). With the JIT an ffi call from inside the count hook crashed
-- the process (reproduced: repeated VMs running bench.cpu), so the host's clock is used then.
local now
if cfg.jit then
  now = py.clock
else
  local ffi = require("ffi")
  ffi.cdef [[typedef struct { long tv_sec; long tv_nsec; } nkhost_ts; int clock_gettime(int, nkhost_ts *);]]
  local ts, C = ffi.new("nkhost_ts"), ffi.C
  now = function()
    C.clock_gettime(1, ts)
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
  end
end

-- Count hooks never fire inside compiled traces: without the JIT every loop is checked.
if not cfg.jit then
  jit.off()
  jit.flush()
end

local sethook, getinfo, traceback = debug.sethook, debug.getinfo, debug.traceback
local jit_status = jit.status
local jutil = require("jit.util")
local funcbc, funck, funcinfo = jutil.funcbc, jutil.funck, jutil.funcinfo
local band, rshift = bit.band, bit.rshift

-- The trusted JSON encoder captures the library functions now, before any cap below.
local json = load(cfg.json_src, "=json", "t", _G)()
-- raiser(source) is error(msg) at the first frame outside the trusted chunk `source`: the user
-- line that called a library function, however deep its checks sit (no position when the caller
-- is pcall itself, as in Lua 5.2).
local function raiser(source)
  return function(msg)
    local level = 2
    while true do
      local info = getinfo(level, "S")
      if info == nil or info.source ~= source then break end
      level = level + 1
    end
    error(msg, level)
  end
end

-- Lua 5.2's bit32 (trusted, lua/bit32.lua), built on bit before anything is removed.
local bit32 = load(cfg.bit32_src, "=bit32", "t", _G)(bit, math, raiser("=bit32"))

-- Lupa reads metatables with raw lua_getmetatable, so hiding them from Lua costs it nothing.
getmetatable(python.none).__metatable = false
getmetatable("").__metatable = false

-- The real string table backs ("x"):rep(), so the cap and the removal go there.
local srep, MAX_STR = string.rep, cfg.max_str
string.rep = function(s, n, sep)
  local size = (#tostring(s) + (sep ~= nil and #tostring(sep) or 0)) * (tonumber(n) or 0)
  if size > MAX_STR then error(format("string.rep: result of %.0f bytes is over the %d byte limit", size, MAX_STR), 2) end
  return srep(s, n, sep)
end
string.dump = nil

-- Lua patterns backtrack inside one C call, where no hook fires (notes §3.4: `a*b` on 16 KiB of
-- "a" takes 1.5 s, on 64 KiB 24 s). So find/match/gmatch/gsub refuse a subject longer than
-- MAX_SUBJECT when the pattern has a special character; a plain find (4th argument true, or a
-- pattern without specials, which Lua searches plainly) stays uncapped. Below the cap the
-- functions are Lua's own (tail calls: results and error texts unchanged).
local MAX_SUBJECT, SPECIAL = cfg.max_subject, "[%^%$%*%+%?%.%(%)%[%]%%%-]"
local sfind, smatch, sgmatch, sgsub = string.find, string.match, string.gmatch, string.gsub
local function check_subject(fname, s, p)
  if type(s) == "string" and #s > MAX_SUBJECT and type(p) == "string" and sfind(p, SPECIAL) then
    error(format("%s: subject of %d bytes is over the %d byte limit for pattern matching"
      .. " (split it, or use a plain find)", fname, #s, MAX_SUBJECT), 3)
  end
end
string.find = function(s, p, init, plain)
  if not plain then check_subject("string.find", s, p) end
  return sfind(s, p, init, plain)
end
string.match = function(s, p, init) check_subject("string.match", s, p) return smatch(s, p, init) end
string.gmatch = function(s, p) check_subject("string.gmatch", s, p) return sgmatch(s, p) end

-- C-level nesting. A gsub callback, a sort comparator (or __lt) and a resumed coroutine are Lua
-- called from C: each level costs C stack (~8 KiB for gsub's buffer) and, for a coroutine, a fresh
-- Lua stack, so Lua's own "stack overflow" never comes; ~1,000 levels overflowed the worker's C
-- stack (SIGSEGV, the whole process: issue 13). Every such entry counts here and fails past
-- MAX_C_NESTING with a Lua error; threads that run Lua also get a 16 MiB stack (host/threads.py).
-- The count is the number of these C calls active: each leaves through `unnest`, and an error
-- unwinding past one is caught by a pcall/xpcall/resume, which put back the count they saw (or by
-- the host, whose arm() sets it to 0).
local MAX_C_NESTING = 200
local cdepth = 0
local nest_raise = raiser("=sandbox")
local function nest(fname)
  if cdepth >= MAX_C_NESTING then
    nest_raise(format("%s: C call nesting deeper than %d levels (recursion through gsub, format, sort or coroutines)",
      fname, MAX_C_NESTING))
  end
  cdepth = cdepth + 1
end
local function unnest(...)
  cdepth = cdepth - 1
  return ...
end
local function restore(saved, ...)
  cdepth = saved
  return ...
end

local sformat = string.format -- "%s" calls __tostring from C
string.format = function(...)
  nest("string.format")
  return unnest(sformat(...))
end
string.gsub = function(s, p, repl, n)
  check_subject("string.gsub", s, p)
  local kind = type(repl)
  if kind ~= "function" and kind ~= "table" then return sgsub(s, p, repl, n) end -- no Lua runs inside
  nest("string.gsub")
  return unnest(sgsub(s, p, repl, n))
end

python = nil
package.loaded.python, package.loaded.ffi, package.preload.ffi, package.loaded.jit = nil, nil, nil, nil
package.loaded["jit.util"] = nil
package.loaded.io, package.loaded.os, package.loaded.debug = nil, nil, nil
package.loadlib, package.cpath, package.path, package.loaders = nil, "", "", {}
io, loadfile, dofile, loadstring, require, module, newproxy, gcinfo, getfenv, setfenv = nil
os = { time = os.time, clock = os.clock, date = os.date, difftime = os.difftime }
debug = { traceback = traceback } -- lupa's own pcall handler uses the global debug.traceback
jit = nil

-- Limits ---------------------------------------------------------------------------------
-- On the first limit hit the hook re-arms itself on every instruction, so a pcall that
-- swallows the abort fails again at its next instruction; xpcall handlers are skipped once
-- killed (they run with hooks off). The abort therefore always escapes to the host, which
-- clears `armed` with a plain setitem (no bytecode runs) and then calls reset().
--
-- With cfg.async_hook (JIT off, the default) the hook is installed here but switched off by the
-- host: any active count hook puts LuaJIT's interpreter in its hooked dispatch mode, which made
-- CPU-bound scripts ~1.6x slower. A host watchdog thread switches it on (lua_sethook, count 1,
-- which LuaJIT allows asynchronously, as from a signal handler) once a call is past its
-- deadline; the hook then aborts as below, and the host switches it off when the call has
-- returned. The Lua state the host passes to lua_sethook is `hook_thread`'s (hooks are global
-- to the VM).
local st = { armed = false, killed = false, deadline = 0, reason = "", module = nil }
local HOOK_N, TIMEOUT, ASYNC = cfg.hook_n, cfg.timeout, cfg.async_hook
local hook
hook = function()
  if st.armed and (st.killed or now() > st.deadline) then
    if not st.killed then
      st.killed = true
      st.reason = "deadline"
      sethook(hook, "", 1)
    end
    error("call aborted: deadline exceeded", 0)
  elseif ASYNC then
    -- switched on for a call that has just ended, or a hair early: check every HOOK_N until
    -- the host switches it off after this call
    sethook(hook, "", HOOK_N)
  end
end
sethook(hook, "", HOOK_N)
local hook_thread = coroutine.create(function() end)

local function arm()
  cdepth = 0
  st.killed = false
  st.deadline = now() + TIMEOUT
  st.armed = true
end

local function reset()
  st.killed = false
  st.module = nil
  if not ASYNC then sethook(hook, "", HOOK_N) end -- async: the host switches the hook off
end

local trace
local function on_error(e)
  -- Runs with hooks off: touch nothing user-defined here (no tostring of tables). The traceback
  -- allocates: at the memory cap it fails, and an error inside the handler would replace the
  -- script's own error with "error in error handling", so it is taken under pcall.
  trace = nil
  if not st.killed and type(e) == "string" then
    local ok, tb = pcall(traceback, e, 3)
    if ok then trace = tb end
  end
  return e
end

-- Read-only views --------------------------------------------------------------------------
local protected = setmetatable({}, { __mode = "k" })

local function readonly(t, name)
  local proxy = setmetatable({}, {
    __index = t,
    __newindex = function(_, k)
      error(format("attempt to modify read-only table '%s' (key '%s')", name, tostring(k)), 2)
    end,
    __metatable = false,
  })
  protected[proxy] = true
  return proxy
end

local function guard(t, fname)
  if protected[t] then error(fname .. ": attempt to modify a read-only table", 3) end
end

local tlib = {}
for k, v in pairs(table) do tlib[k] = v end
tlib.insert = function(t, ...) guard(t, "table.insert"); return insert(t, ...) end
tlib.remove = function(t, ...) guard(t, "table.remove"); return remove(t, ...) end
tlib.sort = function(t, ...)
  guard(t, "table.sort")
  if type(t) ~= "table" then return sort(t, ...) end -- its own error
  nest("table.sort")
  return unnest(sort(t, ...))
end
tlib.setn = nil

-- coroutine.resume and wrap count as C nesting (see MAX_C_NESTING); wrap is resume plus
-- LuaJIT's wrap semantics: results without the status, errors re-raised at the caller's line.
local clib = {}
for k, v in pairs(coroutine) do clib[k] = v end
local cresume, ccreate, cwrap = coroutine.resume, coroutine.create, coroutine.wrap
local function resume(co, ...)
  if type(co) ~= "thread" then return cresume(co, ...) end -- its own error
  nest("coroutine.resume")
  local saved = cdepth
  return restore(saved - 1, cresume(co, ...))
end
clib.resume = resume
local function wrapped(ok, ...)
  if ok then return ... end
  error((...), 2)
end
clib.wrap = function(f)
  if type(f) ~= "function" then return cwrap(f) end -- its own error
  local co = ccreate(f)
  return function(...) return wrapped(resume(co, ...)) end
end

-- The environment --------------------------------------------------------------------------
-- G is the table every module chunk runs in, and it holds the globals themselves: a global read
-- is one table lookup, where each metatable hop costs ~20 ns in the interpreter and game code
-- reads math, string, pairs... thousands of times a call (bench.cpu ran ~7% faster than behind an empty proxy).
-- Writes land in G while the modules load. After freeze() a write must fail naming the
-- variable, but Lua calls __newindex only for absent keys; so freeze() moves each global that
-- some function body assigns (a GSET in the module's bytecode, see assigned_globals) from G
-- to SHADOW, where reads still find it and the write misses G. A main chunk's own GSETs run
-- only while it loads. User code never holds G: _G is an empty view E of it, and chunks from
-- load/loadstring run in E, so their writes always take __newindex.
local G, SHADOW, E = {}, {}, {}
local frozen, loading = false, false
local function assign(_, k, v)
  if frozen then
    error(format("attempt to assign to global '%s': globals are read-only once the modules have loaded"
      .. " (use a local; share state through nk.localcache_*)", tostring(k)), 2)
  end
  rawset(G, k, v)
end
setmetatable(G, { __index = SHADOW, __newindex = assign, __metatable = false })
setmetatable(E, { __index = G, __newindex = assign, __metatable = false })
protected[E] = true

-- Global names that the functions nested in a compiled chunk assign (GSET), read from the
-- bytecode with jit.util (which works with the JIT off). Opcode numbers differ between LuaJIT
-- builds, so GSET's is read off a probe chunk; if that fails, every global counts as assigned
-- (freeze() then moves them all: one hop more, the same rules).
local GSET
do
  local probe = load("x = y", "=probe", "t", {})
  local ok, ins = pcall(funcbc, probe, 2) -- pc 0 is the header, 1 the GGET of y, 2 the GSET of x
  if ok and ins and funck(probe, -1 - rshift(ins, 16)) == "x" then GSET = band(ins, 0xff) end
end

-- Adds to `out` the names that proto's nested functions assign, and its own when `body` is set.
local function gsets(proto, out, body)
  local info = funcinfo(proto)
  if body then
    for pc = 1, info.bytecodes - 1 do
      local ins = funcbc(proto, pc)
      if band(ins, 0xff) == GSET then out[funck(proto, -1 - rshift(ins, 16))] = true end
    end
  end
  for i = 0, info.gcconsts - 1 do
    local k = funck(proto, -1 - i)
    if type(k) == "proto" then gsets(k, out, true) end
  end
end

local assigned = GSET and {} -- name -> true; nil when the bytecode cannot be read
local function assigned_globals(chunk)
  if assigned then gsets(chunk, assigned, false) end
end

local function freeze()
  loading, frozen = false, true
  for k, v in next, G do
    if assigned == nil or assigned[k] then
      rawset(G, k, nil)
      SHADOW[k] = v
    end
  end
end

local function log(level, ...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  py.log(level, concat(parts, "\t"))
end

for _, name in ipairs({ "assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget", "select",
  "tonumber", "tostring", "type", "unpack", "setmetatable", "getmetatable", "_VERSION" }) do
  G[name] = _G[name]
end
G._G = E
G.string = readonly(string, "string")
G.table = readonly(tlib, "table")
G.math = readonly(math, "math")
G.bit = readonly(bit, "bit")
G.bit32 = readonly(bit32, "bit32")
G.coroutine = readonly(clib, "coroutine")
G.os = readonly(os, "os")
G.rawset = function(t, k, v) guard(t, "rawset"); return rawset(t, k, v) end
G.pcall = function(f, ...) return restore(cdepth, pcall(f, ...)) end
G.xpcall = function(f, h, ...)
  return restore(cdepth, xpcall(f, function(e) if st.killed then return e end return h(e) end, ...))
end
G.collectgarbage = function(opt)
  if opt == "count" then return collectgarbage("count") end
  error("collectgarbage: only \"count\" is allowed", 2)
end
G.load = function(chunk, name, mode, env)
  return load(chunk, "=" .. tostring(name or "load"), "t", env or E)
end
G.loadstring = function(s, name)
  if type(s) ~= "string" then error("bad argument #1 to 'loadstring' (string expected, got " .. type(s) .. ")", 2) end
  return load(s, "=" .. tostring(name or s:sub(1, 40)), "t", E)
end
G.print = function(...) log("info", ...) end

-- Modules ----------------------------------------------------------------------------------
local sources, loaded, failed, busy = {}, {}, {}, {}

local function require_module(name)
  if type(name) ~= "string" or not name:match("^[%w_][%w_%.%-/]*$") or name:find("..", 1, true) then
    error("require: invalid module name '" .. tostring(name) .. "'", 2)
  end
  name = name:gsub("/", ".")
  local have = loaded[name]
  if have ~= nil then return have end
  if failed[name] then error(failed[name], 0) end
  if busy[name] then error("require: circular require of '" .. name .. "'", 2) end
  local m = sources[name]
  if m == nil then error("module '" .. name .. "' not found", 2) end
  local fn, err = load(m.src, "@" .. m.path, "t", G)
  if not fn then
    failed[name] = err
    error(err, 0)
  end
  assigned_globals(fn)
  local outer = st.module
  busy[name], st.module = true, m.path
  local ok, res = pcall(fn, name)
  busy[name], st.module = nil, outer
  if not ok then
    failed[name] = res
    error(res, 0)
  end
  if res == nil then res = true end
  loaded[name] = res
  return res
end
G.require = require_module

-- Registrations and contexts -----------------------------------------------------------------
local reg = { rpc = {}, req_before = {}, req_after = {}, rt_before = {}, rt_after = {}, shutdown = {} }
local current_ctx

local function chunk_path(fn)
  local src = getinfo(fn, "S").source
  if src:sub(1, 1) == "@" then return src:sub(2) end
  return ""
end

local overrides = {} -- {kind, key, old, new} for each registration that replaced another
local function registrar(kind, fname, what)
  return function(fn, id)
    if not loading then
      error(fname .. ": registrations are only allowed while the modules load (call it at the top level of a module)", 2)
    end
    if type(fn) ~= "function" then error("bad argument #1 to " .. fname .. " (function expected, got " .. type(fn) .. ")", 2) end
    if type(id) ~= "string" or id == "" then error("bad argument #2 to " .. fname .. " (expects " .. what .. ")", 2) end
    local key, path = lower(id), chunk_path(fn)
    local before = reg[kind][key]
    if before ~= nil then -- the later one wins, as in Nakama, which logs the override
      overrides[#overrides + 1] = { kind = fname, key = id, old = before.path, new = path }
    end
    reg[kind][key] = { fn = fn, path = path }
  end
end

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

local ENV, NODE, VERSION, GENERATION = cfg.env, cfg.node, cfg.version, cfg.generation

-- ctx.headers / ctx.query_params from flat[i..stop]: runs of name, count, value_1..value_count
-- (sandbox.py, _ctx_maps). Every name and value is one slot and counts come from the host, so
-- no value can shift or inject entries; values are read by index (a hole stays a hole).
local function multi_map(flat, i, stop)
  local t = {}
  while i < stop do
    local n = flat[i + 1]
    local values
    if n == 1 then
      values = { flat[i + 2] } -- the common case; the constructor sizes the table (~40% less)
    else
      values = {}
      for j = 1, n do values[j] = flat[i + 1 + j] end
    end
    t[flat[i]] = values
    i = i + 2 + n
  end
  return t
end

-- flat: nil, or vars as name, value pairs in 1..vars_end (vars_end nil: no vars), then headers
-- to headers_end, then query params to n.
local function make_ctx(mode, user_id, username, exp, session_id, lang, ip, port, trace_id, flat, vars_end, headers_end, n)
  local headers, query
  if flat ~= nil then
    headers = multi_map(flat, (vars_end or 0) + 1, headers_end + 1)
    query = multi_map(flat, headers_end + 1, n + 1)
  end
  local c = {
    env = copy(ENV), execution_mode = mode, node = NODE, version = VERSION, runtime_generation = GENERATION,
    headers = headers or {}, query_params = query or {},
  }
  if user_id ~= nil and user_id ~= "" then
    c.user_id, c.username, c.user_session_exp = user_id, username, exp
    if vars_end ~= nil then
      local vars = {}
      for i = 1, vars_end, 2 do vars[flat[i]] = flat[i + 1] end
      c.vars = vars
    end
    if session_id ~= nil and session_id ~= "" then c.session_id, c.lang = session_id, lang end
  end
  if ip ~= nil and ip ~= "" then c.client_ip = ip end
  if port ~= nil and port ~= "" then c.client_port = port end
  if trace_id ~= nil and trace_id ~= "" then c.trace_id = trace_id end
  return c
end

-- The nk table -------------------------------------------------------------------------------
local nk = {}

-- Python functions only behind closures: user code never holds a Python object, and a failure
-- becomes a string error at the caller's line, catchable with pcall.
-- The Python side runs in lupa's glue, where a refused allocation deadlocks the process (issue
-- 13), so a call needs HEADROOM bytes free under the cap first (after a full collection, only
-- when short of it); the results are built with the cap lifted and checked (host/runtime/nk.py).
local gccount, FULL_KB = collectgarbage, (cfg.max_memory - cfg.headroom) / 1024
local function room()
  if gccount("count") > FULL_KB then
    gccount("collect")
    if gccount("count") > FULL_KB then error("not enough memory", 0) end
  end
end
local function bind(pyf)
  return function(...)
    room()
    local ok, n, a, b, c = pyf(...)
    if not ok then error(n, n == "not enough memory" and 0 or 2) end -- Lua's own OOM text has no position
    if n == 1 then return a end
    if n == 0 then return end
    if n == 2 then return a, b end
    return a, b, c
  end
end
for name, pyf in pairs(pyfuncs) do nk[name] = bind(pyf) end

nk.register_rpc = registrar("rpc", "register_rpc", "rpc id")
nk.register_req_before = registrar("req_before", "register_req_before", "api name")
nk.register_req_after = registrar("req_after", "register_req_after", "api name")
nk.register_rt_before = registrar("rt_before", "register_rt_before", "message name")
nk.register_rt_after = registrar("rt_after", "register_rt_after", "message name")
nk.register_shutdown = function(fn)
  if not loading then error("register_shutdown: registrations are only allowed while the modules load", 2) end
  if type(fn) ~= "function" then error("bad argument #1 to register_shutdown (function expected, got " .. type(fn) .. ")", 2) end
  reg.shutdown[#reg.shutdown + 1] = fn
end
nk.run_once = function(fn)
  if type(fn) ~= "function" then error("bad argument #1 to run_once (function expected, got " .. type(fn) .. ")", 2) end
  if py.claim_once() then fn(make_ctx("run_once")) end
end
nk.get_context = function()
  return current_ctx or make_ctx("run_once")
end

-- Registrations beyond RPCs and hooks (Nakama's names and argument checks). Each is stored so
-- the module loads; host.finish_load lists them (kind, key, path) and the host decides which it
-- can call: events run (host/runtime/events.py), the others wait for their features and
-- `nkhost check` warns about them (host/runtime/registrations.py).
local EXTRA = { "matchmaker_matched", "tournament_end", "tournament_reset", "leaderboard_reset", "storage_index_filter", "event" }
for _, kind in ipairs(EXTRA) do reg[kind] = {} end
local indexes = {} -- register_storage_index: name -> definition (not a function)
local events = 0

local raise = raiser("=sandbox")

local function loading_only(fname)
  if not loading then
    raise(fname .. ": registrations are only allowed while the modules load (call it at the top level of a module)")
  end
end

local function arg_error(argn, fname, msg)
  raise(format("bad argument #%d to %s (%s)", argn, fname, msg))
end

local function check_function(fn, argn, fname)
  if type(fn) ~= "function" then arg_error(argn, fname, "function expected, got " .. type(fn)) end
end

-- gopher-lua's CheckString: a string, or a number as its text.
local function check_name(v, argn, fname)
  if type(v) == "number" then return tostring(v) end
  if type(v) ~= "string" then arg_error(argn, fname, "string expected, got " .. type(v)) end
  return v
end

-- register_matchmaker_matched(fn) and the like: one handler per kind, a later one replaces it.
local function single(kind)
  local fname = "register_" .. kind
  return function(fn)
    loading_only(fname)
    check_function(fn, 1, fname)
    reg[kind][""] = { fn = fn, path = chunk_path(fn) }
  end
end
nk.register_matchmaker_matched = single("matchmaker_matched")
nk.register_tournament_end = single("tournament_end")
nk.register_tournament_reset = single("tournament_reset")
nk.register_leaderboard_reset = single("leaderboard_reset")

nk.register_storage_index_filter = function(name, fn)
  loading_only("register_storage_index_filter")
  name = check_name(name, 1, "register_storage_index_filter")
  check_function(fn, 2, "register_storage_index_filter")
  reg.storage_index_filter[name] = { fn = fn, path = chunk_path(fn) }
end

local function field_list(t, argn, fname)
  if type(t) ~= "table" then arg_error(argn, fname, "table expected, got " .. type(t)) end
  local out = {}
  for _, v in pairs(t) do
    if type(v) ~= "string" then arg_error(argn, fname, "expects each field to be string") end
    out[#out + 1] = v
  end
  return out
end

nk.register_storage_index = function(name, collection, key, fields, sortable, max_entries, index_only)
  local fname = "register_storage_index"
  loading_only(fname)
  name = check_name(name, 1, fname)
  collection = check_name(collection, 2, fname)
  key = check_name(key, 3, fname)
  fields, sortable = field_list(fields, 4, fname), field_list(sortable, 5, fname)
  if type(max_entries) ~= "number" then arg_error(6, fname, "number expected, got " .. type(max_entries)) end
  if index_only ~= nil and type(index_only) ~= "boolean" then arg_error(7, fname, "boolean expected, got " .. type(index_only)) end
  indexes[name] = {
    collection = collection, key = key, fields = fields, sortable = sortable,
    max_entries = max_entries, index_only = index_only == true, path = chunk_path(3), -- the caller
  }
end

-- register_event(fn): fn(ctx, event) for every nk.event, off the caller's path. Nakama's Lua has
-- no such call (its Go and JS runtimes do); every registered function runs, in order.
nk.register_event = function(fn)
  loading_only("register_event")
  check_function(fn, 1, "register_event")
  events = events + 1
  reg.event[tostring(events)] = { fn = fn, path = chunk_path(fn) }
end

local json_encode = json.encode
nk.json_encode = function(v)
  local ok, s = pcall(json_encode, v)
  if not ok then error(s, 2) end
  return s
end

local NK = readonly(nk, "nk")
loaded.nakama = NK
loaded.bit32 = G.bit32 -- require("bit32") works in Nakama (package.loaded), so it does here

-- Entry points for the host ------------------------------------------------------------------
local INVALID = "Runtime function returned invalid data - only allowed one return value of type String/Byte."

-- Turns an error object into (message, code, custom). Runs while still armed: a __tostring
-- metamethod on an error table is user code.
-- A __tostring that fails (or errors in turn) must not escape the host's entry point ("Lua error
-- outside a protected call", issue 13): its own error text is used instead.
local function text(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  if type(s) == "string" then return "error object's __tostring failed: " .. s end
  return "error object's __tostring failed"
end
local function describe(e)
  if type(e) == "table" then
    local msg = e[1]
    if msg == nil then return text(e), 13, true end
    return text(msg), tonumber(e[2]) or 13, true
  end
  return text(e), 13, false
end

local host = {
  st = st, reset = reset, hook_thread = hook_thread, hook_state = tostring(hook_thread),
  jit_on = function() return (jit_status()) end, -- what LuaJIT says, not what was asked for
}

-- What a match VM's glue (lua/match.lua, host/runtime/match_vm.py) builds its entry points from.
host.internals = {
  arm = arm, st = st, on_error = on_error, last_trace = function() return trace end, describe = describe,
  require = require_module, readonly = readonly, bind = bind, copy = copy, getinfo = getinfo,
  set_ctx = function(c) current_ctx = c end, ENV = ENV, NODE = NODE, VERSION = VERSION, GENERATION = GENERATION,
  nk = nk, -- the writable table behind require("nakama"), for host-side checks (tests/runtime/test_annotations.py)
}

-- Loads one module under the limits; returns nil or the error text.
function host.load_module(name)
  arm()
  local ok, err = xpcall(require_module, on_error, name)
  if not ok then err = text(err) end
  st.armed = false
  if not ok then return err end
end

function host.begin_load(list)
  for i = 1, #list do
    local m = list[i]
    sources[m.name] = { src = m.src, path = m.path }
  end
  loading = true
end

function host.finish_load()
  freeze()
  local out = {}
  for kind, t in pairs(reg) do
    if kind ~= "shutdown" then
      local keys = {}
      for k in pairs(t) do keys[#keys + 1] = k end
      out[kind] = keys
    end
  end
  out.shutdown = #reg.shutdown
  local handlers = {}
  for _, kind in ipairs(EXTRA) do
    for key, r in pairs(reg[kind]) do handlers[#handlers + 1] = { kind = kind, key = key, path = r.path } end
  end
  for name, ix in pairs(indexes) do handlers[#handlers + 1] = { kind = "storage_index", key = name, path = ix.path } end
  out.handlers = handlers
  out.overrides = overrides
  return out
end

-- kind: "rpc", "req_before", ...; a, b: the call's arguments; the rest builds the context.
-- Returns 0 (not registered), 1 and the result, or 2, message, code, custom, path, trace.
function host.call(kind, key, mode, a, b, ...)
  local r = reg[kind][key]
  if r == nil then return 0 end
  local ctx = make_ctx(mode, ...)
  current_ctx = ctx
  arm()
  local ok, res = xpcall(r.fn, on_error, ctx, a, b)
  local status, msg, code, custom
  if ok then
    if kind == "rpc" then
      if res == nil or type(res) == "string" then status, msg = 1, res else status, msg, code, custom = 2, INVALID, 13, true end
    elseif kind == "req_before" or kind == "rt_before" then
      if res == nil then status = 1 elseif type(res) ~= "table" then
        status, msg, code, custom = 2, "before hook must return a table or nil, got " .. type(res), 13, false
      else
        local jok, s = pcall(json_encode, res)
        if jok then status, msg = 1, s else status, msg, code, custom = 2, tostring(s), 13, false end
      end
    else
      status = 1
    end
  else
    status = 2
    msg, code, custom = describe(res)
  end
  st.armed = false
  current_ctx = nil
  if status == 1 then return 1, msg end
  return 2, msg, code, custom, r.path, trace
end

-- Runs every register_shutdown function; returns the error texts.
function host.shutdown(...)
  local errors = {}
  for i = 1, #reg.shutdown do
    local ctx = make_ctx("shutdown", ...)
    current_ctx = ctx
    arm()
    local ok, err = xpcall(reg.shutdown[i], on_error, ctx)
    if not ok then err = text(err) end
    st.armed = false
    current_ctx = nil
    if not ok then errors[#errors + 1] = err end
  end
  return errors
end

return host
