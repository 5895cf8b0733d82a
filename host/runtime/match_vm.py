"""An authoritative match's own VM: the handler module's callbacks and the dispatcher.

Each match gets a ``MatchVm``: a ``Sandbox`` (the same prelude, the same limits: a deadline
per callback, the memory cap, no Python reachable) built from the code generation current
when the match is created, which it keeps until it ends, whatever reloads happen meanwhile.
Only the handler module and what it requires run in it (not every module: a match VM costs
~250 KB, not a worker's full load). Registrations made there are ignored and ``run_once``
never runs, as in Nakama's match VMs.

The callbacks and the match state stay in Lua (``lua/match.lua``); Python passes flat
arrays in and gets status tuples back. The dispatcher's functions check their arguments
with Nakama's texts here and hand plain values to the match (``Dispatch``, the core's
AuthoritativeMatch), which filters by membership and posts the sends to the loop.

``MatchVms`` is the factory the matches feature is given; it also lets a reload be refused
when it breaks a module that matches have used as their handler.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from ..errors import ApiError, Code
from .bridge import check_string
from .convert import lua_type, to_lua, type_name
from .errors import NkArgError, RpcError, RuntimeFailure
from .nk import _bind
from .outbox import Outbox
from .sandbox import Sandbox, clip
from .snapshot import Module

__all__ = ["MatchVm", "MatchVms", "MatchCallbackError", "Dispatch", "CALLBACKS"]

log = logging.getLogger("nkhost.match")
lua_log = logging.getLogger("nkhost.lua")

_GLUE = (Path(__file__).parent / "lua" / "match.lua").read_bytes()
_LOADER = b"return function(src) return assert(load(src, '=match', 't', _G)) end"

CALLBACKS = ("match_init", "match_join_attempt", "match_join", "match_leave", "match_loop", "match_terminate", "match_signal")
_CHECK = b"""return function(t)
  if type(t) ~= "table" then return "match module must return a table containing the match callback functions" end
  for _, k in ipairs({ ... }) do
    if type(rawget(t, k)) ~= "function" then return k .. " not found or not a function" end
  end
end""".replace(b"...", b", ".join(b'"' + n.encode() + b'"' for n in CALLBACKS))


class MatchCallbackError(RuntimeFailure):
    """A callback raised, hit a limit or returned the wrong values. ``message`` is Nakama's
    text (a Lua error keeps its file:line); ``where`` is the callback's file:line for shape
    errors; ``trace`` the Lua traceback when there is one."""

    def __init__(self, message: str, where: str = "", trace: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.trace = trace

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class Dispatch(Protocol):
    """What the dispatcher reaches: the match (host/features/matches/authoritative.py)."""

    def broadcast(self, op_code: int, data: bytes | None, targets: list[tuple[str, str]] | None, sender: dict[str, str] | None, reliable: bool, deferred: bool) -> None: ...
    def kick(self, presences: list[tuple[str, str, str]]) -> None: ...
    def update_label(self, label: str) -> None: ...


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class MatchVm(Sandbox):
    __slots__ = ("module", "match_id", "_glue", "_target", "_entries")

    def __init__(self, target: Dispatch, match_id: str, module: str, **sandbox: Any) -> None:
        super().__init__(**sandbox)
        self.module = module
        self.match_id = match_id
        self._target = target
        glue = self.lua.execute(_LOADER)(_GLUE)
        dispatch = {
            b"broadcast_message": _bind("broadcast_message", partial(_broadcast, target, False), self.lua),
            b"broadcast_message_deferred": _bind("broadcast_message_deferred", partial(_broadcast, target, True), self.lua),
            b"match_kick": _bind("match_kick", partial(_kick, target), self.lua),
            b"match_label_update": _bind("match_label_update", partial(_label_update, target), self.lua),
        }
        self._glue = glue(self._host[b"internals"], self.lua.table_from(dispatch), match_id.encode())
        self._entries = {name: self._glue[name.encode()] for name in ("init", "join_attempt", "join", "leave", "loop", "terminate", "signal")}

    # Opening -------------------------------------------------------------------------

    def open(self, modules: Sequence[Module]) -> None:
        """Load the handler module (and what it requires) under the limits and bind its
        callbacks; raises MatchCallbackError with Nakama's text."""
        listing = [{b"name": m.name.encode(), b"path": m.path.encode(), b"src": m.source} for m in modules]
        self._host[b"begin_load"](self.lua.table_from(listing, recursive=True))
        name = self.module.encode()
        try:
            err = self._guarded(self._host[b"load_module"], name)
        except RpcError as exc:
            err = f"loading failed: {exc.message}"
        self._host[b"finish_load"]()
        if err is None:
            err = self._glue[b"open"](name)
            if err is not None:
                raise MatchCallbackError(clip(err))
            # What loading left behind would otherwise double the heap a tick walks (the
            # collector runs when the heap doubles): ~150 KB instead of ~65 KB live, and with
            # hundreds of matches the cache misses showed in every tick.
            self.lua.gccollect()
            return
        raise MatchCallbackError(f"error loading match module: {clip(err)}")

    # Callbacks (the core's MatchHandler) ----------------------------------------------

    def init(self, params: dict[str, Any] | None) -> tuple[int, str]:
        result = self._run("match_init", self._entries["init"], lambda: (None if params is None else to_lua(self.lua, params),))
        if result[0] == 0:  # the glue reports a nil state as a shape error; 0 cannot come from init
            raise MatchCallbackError("Match initial state must not be nil")
        return int(result[1]), _text(result[2])

    def join_attempt(self, tick: int, presence: Any, metadata: dict[str, str], joiner: dict[str, Any]) -> tuple[bool, str] | None:
        lua = self.lua
        result = self._run("match_join_attempt", self._entries["join_attempt"], lambda: (
            tick, lua.table_from([s.encode() for s in presence]), to_lua(lua, metadata) if metadata else lua.table(), to_lua(lua, joiner),
        ))
        if result[0] == 0:
            return None
        reason = result[2] if len(result) > 2 else None
        return bool(result[1]), _text(reason) if reason is not None else ""

    def join(self, tick: int, presences: list[tuple[Any, int]]) -> bool:
        return self._presences("match_join", "join", tick, presences)

    def leave(self, tick: int, presences: list[tuple[Any, int]]) -> bool:
        return self._presences("match_leave", "leave", tick, presences)

    def loop(self, tick: int, messages: list[Any]) -> bool:
        flat: list[Any] = []
        add = flat.extend
        for m in messages:
            add((m.user_id.encode(), m.session_id.encode(), m.username.encode(), m.node.encode(), m.op_code, m.data, m.reliable, m.receive_time_ms))
        return self._run("match_loop", self._entries["loop"], lambda: (tick, self.lua.table_from(flat), len(messages)))[0] == 1

    def terminate(self, tick: int, grace_seconds: int) -> bool:
        return self._run("match_terminate", self._entries["terminate"], lambda: (tick, grace_seconds))[0] == 1

    def signal(self, tick: int, data: str) -> tuple[bool, str]:
        result = self._run("match_signal", self._entries["signal"], lambda: (tick, data.encode()))
        response = result[1] if len(result) > 1 else None
        return result[0] == 1, _text(response) if response is not None else ""

    def close(self) -> None:
        """Drop what ties the VM to the match, so both go at once."""
        self._glue = self._target = None
        self._entries = {}

    def _presences(self, name: str, entry: str, tick: int, presences: list[tuple[Any, int]]) -> bool:
        flat: list[Any] = []
        for p, reason in presences:
            flat.extend((p.user_id.encode(), p.session_id.encode(), p.username.encode(), p.node.encode(), reason))
        return self._run(name, self._entries[entry], lambda: (tick, self.lua.table_from(flat), len(presences)))[0] == 1

    def _run(self, name: str, fn: Any, args: Callable[[], tuple[Any, ...]]) -> tuple[Any, ...]:
        """One glue entry under the limits, its arguments from ``args()`` (built with the cap
        lifted: Sandbox.uncapped): (1, ...) or (0, ...); failures raise."""
        try:
            result = self._guarded(fn, *self.uncapped(args))
        except RpcError as exc:  # deadline, memory cap
            raise MatchCallbackError(f"{name} aborted: {exc.message}", self._where(name)) from None
        if type(result) is not tuple:
            result = (result,)
        status = result[0]
        if status == 2:
            message = _text(result[1])
            if message == "not enough memory":
                raise MatchCallbackError(f"{name} aborted: memory limit of {self.limits.max_memory_mb} MiB exceeded", self._where(name))
            raise MatchCallbackError(message, "", _text(result[2]) if result[2] else "")
        if status == 3:
            raise MatchCallbackError(_text(result[1]), _text(result[2]))
        return result

    def _where(self, name: str) -> str:
        try:
            fn = self._glue[b"where"]
            return _text(fn(name.encode())) if fn is not None else ""
        except Exception:  # the VM may be unusable after a limit hit; the message says enough
            return ""


# Dispatcher functions: (target, *Lua arguments), Nakama's argument rules and texts ---------


def _session(value: Any, argn: int, text: str) -> str:
    try:
        return str(uuid.UUID(check_string(value, argn)))
    except (ValueError, NkArgError):
        raise NkArgError(text, argn) from None


def _targets(value: Any) -> list[tuple[str, str]] | None:
    """broadcast's presences (#3): None for nil; [] sends to nobody."""
    if value is None:
        return None
    if lua_type(value) != "table":
        raise NkArgError(f"table expected, got {type_name(value)}", 3)
    out = []
    items = list(value.values())
    for item in items:
        if lua_type(item) != "table":
            raise NkArgError("expects a valid set of presences", 3)
        sid, node = item[b"session_id"], item[b"node"]
        if node is not None and not isinstance(node, bytes):
            raise NkArgError("expects node to be string", 3)
        session_id = _session(sid, 3, "expects each presence to have a valid session_id") if sid is not None else ""
        if not session_id or not node:
            raise NkArgError("expects each presence to have a valid session_id and node", 3)
        if len(items) == 1:
            uid = item[b"user_id"]
            if not isinstance(uid, bytes):
                raise NkArgError("expects each presence to have a valid user_id", 3)
            _session(uid, 3, "expects each presence to have a valid user_id")
        out.append((session_id, node.decode("utf-8", "replace")))
    return out


def _sender(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if lua_type(value) != "table":
        raise NkArgError(f"table expected, got {type_name(value)}", 4)
    uid, sid, username = value[b"user_id"], value[b"session_id"], value[b"username"]
    if username is not None and not isinstance(username, bytes):
        raise NkArgError("expects username to be string", 4)
    if uid is None or sid is None or not username:
        raise NkArgError("expects presence to have a valid user_id, session_id, and username", 4)
    out = {
        "user_id": _session(uid, 4, "expects presence to have a valid user_id"),
        "session_id": _session(sid, 4, "expects presence to have a valid session_id"),
    }
    out["username"] = username.decode("utf-8", "replace")
    return out


_INT64 = 1 << 63


def _op_code(value: Any) -> int:
    if isinstance(value, bytes):
        try:
            value = float(value)
        except ValueError:
            raise NkArgError("number expected, got string", 1) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NkArgError(f"number expected, got {type_name(value)}", 1)
    if value != value or not -_INT64 <= value < _INT64:
        raise NkArgError("op code must fit in a signed 64-bit integer", 1)
    return int(value)


def _broadcast(target: Dispatch, deferred: bool, op_code: Any = None, data: Any = None, presences: Any = None, sender: Any = None, reliable: Any = None) -> tuple[()]:
    op = _op_code(op_code)
    if data is not None and not isinstance(data, bytes):
        raise NkArgError("expects data to be a string or nil", 2)
    targets = _targets(presences)
    if targets == []:
        return ()  # an empty list sends to nobody
    who = _sender(sender)
    if reliable is not None and not isinstance(reliable, bool):
        raise NkArgError(f"boolean expected, got {type_name(reliable)}", 5)
    try:
        target.broadcast(op, data, targets, who, True if reliable is None else reliable, deferred)
    except ApiError as exc:
        if deferred and exc.message.startswith("too many"):
            raise NkArgError(f"error deferring message broadcast: {exc.message}") from None
        raise NkArgError(exc.message) from None
    return ()


def _kick(target: Dispatch, presences: Any = None) -> tuple[()]:
    if presences is None:
        return ()
    if lua_type(presences) != "table":
        raise NkArgError(f"table expected, got {type_name(presences)}", 1)
    items = list(presences.values())
    out = []
    for item in items:
        if lua_type(item) != "table":
            raise NkArgError("expects a valid set of presences", 1)
        uid, sid, node = item[b"user_id"], item[b"session_id"], item[b"node"]
        if node is not None and not isinstance(node, bytes):
            raise NkArgError("expects node to be string", 1)
        if uid is None or sid is None or not node:
            raise NkArgError("expects each presence to have a valid user_id, session_id, and node", 1)
        out.append((
            _session(uid, 1, "expects each presence to have a valid user_id"),
            _session(sid, 1, "expects each presence to have a valid session_id"),
            node.decode("utf-8", "replace"),
        ))
    if out:
        try:
            target.kick(out)
        except ApiError as exc:
            raise NkArgError(exc.message) from None
    return ()


def _label_update(target: Dispatch, label: Any = None) -> bytes:
    text = "" if label is None else check_string(label, 1)
    try:
        target.update_label(text)
    except ApiError as exc:
        prefix = "" if exc.message == "match stopped" else "error updating match label: "
        raise NkArgError(prefix + exc.message) from None
    return text.encode()


# The factory the matches feature is given ----------------------------------------------


class MatchVms:
    """Opens match VMs on the runtime's current generation; remembers the handler modules
    used, so a reload that breaks one is refused (``check``, a Runtime generation check)."""

    def __init__(self, runtime: Callable[[], Any], outbox: Outbox) -> None:
        self._runtime = runtime
        self._outbox = outbox
        self.modules: set[str] = set()

    def __call__(self, match: Any, module: str) -> MatchVm:
        runtime = self._runtime()
        generation = runtime.current if runtime is not None else None
        if generation is None:
            raise ApiError(Code.INTERNAL, "error loading match module: the runtime is not started")
        match.generation = generation.number
        label = f"match_id={match.match_id} runtime_generation={generation.number}"

        def log_line(level: str, message: str) -> None:
            lua_log.log(logging.getLevelName(level.upper()), "%s %s", label, message)

        vm = MatchVm(match, match.match_id, module, generation=generation.number, log_line=log_line, claim_once=lambda: False, **runtime.vm_args(self._outbox))
        try:
            vm.open(generation.snapshot.modules)
        except MatchCallbackError as exc:
            vm.close()
            raise ApiError(Code.INTERNAL, exc.message) from None
        self.modules.add(module)
        return vm

    def check(self, vm: Sandbox, modules: Sequence[Module]) -> list[str]:
        """In a freshly built worker VM of a new generation: each module used as a match
        handler that is still there must return the seven callbacks ("file: match handler:
        ..." errors). Running matches keep their own generation either way."""
        paths = {m.name: m.path for m in modules}
        errors = []
        check = vm.lua.execute(_CHECK)
        require = vm._host[b"internals"][b"require"]
        for module in sorted(self.modules & paths.keys()):
            problem = check(require(module.encode()))  # loaded already: nothing runs
            if problem is not None:
                errors.append(f"{paths[module]}: match handler: {_text(problem)}")
        return errors


def handler_modules(vm: Sandbox, modules: Sequence[Module]) -> list[str]:
    """The modules of a loaded VM that return the seven match callbacks, i.e. what
    nk.match_create can run (for the generation report). Nothing runs: each is cached."""
    check = vm.lua.execute(_CHECK)
    require = vm._host[b"internals"][b"require"]
    return [m.name for m in modules if check(require(m.name.encode())) is None]
