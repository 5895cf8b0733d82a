"""Lua: nk.wallet_update, wallets_update, wallet_ledger_list, wallet_ledger_update.

Nakama's argument orders, checks and texts (runtime_lua_nakama.go); values cross as
Nakama's RuntimeLuaConvertLuaTable makes them (a Lua number is whole when it is an int64,
an array table becomes a map keyed "1", "2", ...). Where Nakama has a bug (⚠) the module
gets what it meant, and a test pins it:

* ``wallets_update`` of an empty list (or of a table without an array part) returns ``{}``;
  Nakama returns nothing, so ``ipairs`` on its result fails.
* ``wallet_ledger_list``'s limit error names argument #2 (Nakama says #1); its cursor is ""
  after the last page, as in Nakama (code that tests ``cursor ~= ""`` keeps working).
* ``wallet_ledger_update`` returns the item's metadata after the merge; Nakama hands back
  the table it was given.
* results never alias: a user updated twice in one batch gets two distinct snapshots.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from host.runtime.bridge import Bridge, lua_json_object, lua_map, opt_bool, opt_string
from host.runtime.convert import Ready, lua_type, type_name
from host.runtime.errors import NkArgError
from host.runtime.nk_utils import json_decode

from ..users.nk import lua_uuid, opt_int
from .changeset import INT64_MAX, INT64_MIN
from .core import NAME, LedgerItem, WalletResult, WalletsCore, WalletUpdate

__all__ = ["NK"]

_WHOLE = "expects changeset values to be whole numbers"


def _core(bridge: Bridge, fname: str) -> WalletsCore:
    return bridge.feature(fname, NAME)  # type: ignore[no-any-return]


def _check_table(value: Any, argn: int) -> Any:
    if lua_type(value) != "table":
        raise NkArgError(f"table expected, got {type_name(value)}", argn)
    return value


def _changeset(table: Any, argn: int) -> dict[str, int]:
    try:
        values = lua_map(table)
    except ValueError:
        raise NkArgError(_WHOLE, argn) from None
    out = {}
    for key, amount in values.items():
        if isinstance(amount, float) and amount.is_integer() and INT64_MIN <= amount < 2**63:
            amount = int(amount)
        if type(amount) is not int or not INT64_MIN <= amount <= INT64_MAX:
            raise NkArgError(_WHOLE, argn)
        out[key] = amount
    return out


def _wallet_table(wallet: dict[str, int]) -> dict[bytes, int]:
    return {k.encode(): v for k, v in wallet.items()}


def _result_table(result: WalletResult) -> dict[bytes, Any]:
    return {b"user_id": result.user_id.encode(), b"updated": _wallet_table(result.updated),
            b"previous": _wallet_table(result.previous)}


def _item_table(item: LedgerItem) -> dict[bytes, Any]:
    return {
        b"id": item.id.encode(), b"user_id": item.user_id.encode(),
        b"create_time": item.create_time // 1_000_000, b"update_time": item.update_time // 1_000_000,
        b"changeset": _wallet_table(item.changeset), b"metadata": json_decode(item.metadata.encode()),
    }


def wallet_update(
    bridge: Bridge, user_id: Any = None, changeset: Any = None, metadata: Any = None, update_ledger: Any = None
) -> tuple[Ready, Ready]:
    """``wallet_update(user_id, changeset, metadata?, update_ledger?=false)`` -> updated, previous."""
    uid = lua_uuid(user_id, 1, "expects a valid user id")
    changes = _changeset(_check_table(changeset, 2), 2)
    meta = "{}" if metadata is None else lua_json_object(_check_table(metadata, 3), 3)
    ledger = opt_bool(update_ledger, 4, False)
    core = _core(bridge, "wallet_update")
    results = bridge.run_core(
        "wallet_update", "failed to update user wallet", core.db, core.update, [WalletUpdate(uid, changes, meta)], ledger
    )
    if not results:
        raise NkArgError("user not found")
    return Ready(_wallet_table(results[0].updated)), Ready(_wallet_table(results[0].previous))


def _one_update(item: Any) -> WalletUpdate:
    """One entry of wallets_update's list: keys user_id, changeset, metadata (others ignored)."""
    if lua_type(item) != "table":
        raise NkArgError("expects a valid set of updates", 1)
    uid = "00000000-0000-0000-0000-000000000000"  # no user_id: names no user, so it is skipped
    raw = item[b"user_id"]
    if raw is not None:
        if not isinstance(raw, bytes):
            raise NkArgError("expects user_id to be string", 1)
        uid = lua_uuid(raw, 1, "expects user_id to be a valid ID")
    raw = item[b"changeset"]
    if raw is None:
        raise NkArgError("expects changeset to be supplied", 1)
    if lua_type(raw) != "table":
        raise NkArgError("expects changeset to be table", 1)
    changes = _changeset(raw, 1)
    meta = "{}"
    raw = item[b"metadata"]
    if raw is not None:
        if lua_type(raw) != "table":
            raise NkArgError("expects metadata to be table", 1)
        meta = lua_json_object(raw, 1)
    return WalletUpdate(uid, changes, meta)


def wallets_update(bridge: Bridge, updates: Any = None, update_ledger: Any = None) -> Ready:
    """``wallets_update({{user_id, changeset, metadata?}, ...}, update_ledger?=false)`` ->
    ``{{user_id, updated, previous}, ...}``, one per update whose user exists."""
    _check_table(updates, 1)
    if len(updates) == 0:
        return Ready([])
    batch = [_one_update(item) for item in updates.values()]
    ledger = opt_bool(update_ledger, 2, False)
    core = _core(bridge, "wallets_update")
    results = bridge.run_core("wallets_update", "failed to update user wallet", core.db, core.update, batch, ledger)
    return Ready([_result_table(r) for r in results])


def wallet_ledger_list(bridge: Bridge, user_id: Any = None, limit: Any = None, cursor: Any = None) -> tuple[Ready, bytes]:
    """``wallet_ledger_list(user_id, limit?=100, cursor?)`` -> items (newest first), cursor."""
    uid = lua_uuid(user_id, 1, "expects a valid user id")
    count = opt_int(limit, 2, 100)
    if not 0 <= count <= 100:
        raise NkArgError("expects limit to be 0-100", 2)
    after = opt_string(cursor, 3)
    core = _core(bridge, "wallet_ledger_list")
    items, next_cursor = bridge.run_core(
        "wallet_ledger_list", "failed to retrieve user wallet ledger", core.db, core.ledger_list, uid, count, after
    )
    return Ready([_item_table(i) for i in items]), next_cursor.encode()


def wallet_ledger_update(bridge: Bridge, item_id: Any = None, metadata: Any = None) -> Ready:
    """``wallet_ledger_update(id, metadata)`` -> the item, its metadata merged with ``metadata``."""
    lid = lua_uuid(item_id, 1, "expects a valid id")
    _check_table(metadata, 2)
    try:
        merge = lua_map(metadata)
    except ValueError as exc:
        raise NkArgError(f"failed to convert metadata: {exc}", 2) from None
    core = _core(bridge, "wallet_ledger_update")
    item = bridge.run_core(
        "wallet_ledger_update", "failed to update user wallet ledger", core.db, core.ledger_update, lid, merge
    )
    return Ready(_item_table(item))


NK: dict[str, Callable[..., Any]] = {
    "wallet_update": wallet_update,
    "wallets_update": wallets_update,
    "wallet_ledger_list": wallet_ledger_list,
    "wallet_ledger_update": wallet_ledger_update,
}
