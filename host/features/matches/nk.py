"""nk functions: ``match_create``, ``match_get``, ``match_list``, ``match_signal``.

Nakama's argument rules and texts (features §5.1, §5.5, §5.7), except that optional
arguments are optional: Nakama requires ``nk.match_create(module, nil)`` and all six
``match_list`` arguments positionally ("value expected"); here they may be left out.
They run on the caller's Lua worker; registry reads go to the loop through the VM's outbox.
"""

from __future__ import annotations

import time
from typing import Any

from ...errors import ApiError
from ...runtime.bridge import Bridge, check_string
from ...runtime.convert import from_lua, lua_type, type_name
from ...runtime.errors import NkArgError
from .core import Matches
from .ids import MatchId, parse_match_id
from ..labelquery import QueryError
from .registry import ListRequest, MatchEntry

__all__ = ["NK"]

NAME = "matches"


def _core(bridge: Bridge, fname: str) -> Matches:
    return bridge.feature(fname, NAME)


def _match_id(value: Any, what: str) -> MatchId:
    text = check_string(value, 1) if value is not None else ""
    match_id = parse_match_id(text)
    if match_id is None:
        raise NkArgError(f"failed to {what} match: match id invalid")
    return match_id


def _entry(entry: MatchEntry) -> dict[str, Any]:
    out: dict[str, Any] = {"match_id": entry.match_id, "authoritative": entry.authoritative, "size": entry.size}
    if entry.authoritative:
        out.update(label=entry.label or "", tick_rate=entry.tick_rate, handler_name=entry.handler_name)
    return out


def match_create(bridge: Bridge, module: Any = None, params: Any = None) -> str:
    name = check_string(module, 1) if module is not None else ""
    if name == "":
        raise NkArgError("expects module name", 1)
    data = None
    if params is not None:
        if lua_type(params) != "table":
            raise NkArgError("expects params to be nil or a table of key-value pairs", 2)
        try:
            data = from_lua(params)
        except (ValueError, UnicodeDecodeError) as exc:
            raise NkArgError(f"expects params to be nil or a table of key-value pairs ({exc})", 2) from None
        if not isinstance(data, dict):
            raise NkArgError("expects params to be nil or a table of key-value pairs", 2)
    core = _core(bridge, "match_create")
    try:
        return core.create(name, data, lambda fn, match: bridge.ask("match_create", fn, match))
    except ApiError as exc:
        raise NkArgError(f"error creating match: {exc.message}") from None


def match_get(bridge: Bridge, match_id: Any = None) -> dict[str, Any] | None:
    mid = _match_id(match_id, "get")
    entry = bridge.ask("match_get", _core(bridge, "match_get").get, mid)
    return None if entry is None else _entry(entry)


def _opt(value: Any, argn: int, kinds: tuple[type, ...], text: str) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) is not (bool in kinds) or not isinstance(value, kinds):
        raise NkArgError(text, argn)
    return value


def match_list(
    bridge: Bridge, limit: Any = None, authoritative: Any = None, label: Any = None, min_size: Any = None, max_size: Any = None, query: Any = None,
) -> list[dict[str, Any]]:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float))):
        raise NkArgError(f"number expected, got {type_name(limit)}", 1)
    request = ListRequest(
        limit=1 if limit is None else int(limit),
        authoritative=_opt(authoritative, 2, (bool,), "expects authoritative true/false or nil"),
        label=_text(_opt(label, 3, (bytes,), "expects label string or nil")),
        min_size=_int(_opt(min_size, 4, (int, float), "expects minimum size number or nil")),
        max_size=_int(_opt(max_size, 5, (int, float), "expects maximum size number or nil")),
        query=_text(_opt(query, 6, (bytes,), "expects query string or nil")),
    )
    try:
        entries = bridge.ask("match_list", _core(bridge, "match_list").list, request)
    except QueryError as exc:
        raise NkArgError(f"failed to list matches: {exc}") from None
    return [_entry(e) for e in entries]


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "replace")


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def match_signal(bridge: Bridge, match_id: Any = None, data: Any = None) -> str:
    mid = _match_id(match_id, "signal")
    text = "" if data is None else check_string(data, 2)
    if getattr(bridge.vm, "match_id", None) == mid.text:  # it would wait on itself until the deadline
        raise NkArgError("failed to signal match: a match cannot signal itself")
    core = _core(bridge, "match_signal")
    match = bridge.ask("match_signal", core.local, mid)
    if match is None:
        raise NkArgError("failed to signal match: match not found")
    try:
        return core.signal(match, text, bridge.vm.deadline - time.monotonic())
    except ApiError as exc:
        raise NkArgError(f"failed to signal match: {exc.message}") from None


NK = {
    "match_create": match_create,
    "match_get": match_get,
    "match_list": match_list,
    "match_signal": match_signal,
}
