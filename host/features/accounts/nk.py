"""Lua: ``nk.account_update_id(user_id, metadata?, username?, display_name?, timezone?,
location?, lang_tag?, avatar_url?)``, Nakama's argument order, checks and texts.

nil leaves a field alone, "" clears it (a "" username leaves it alone). Failures read
"error while trying to update user: <why>", e.g. "... Username is already in use.".
⚠ Nakama checks the 128-byte username limit only over REST (longer names then fail in
PostgreSQL); here server code gets the same check and text as a client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...runtime.bridge import Bridge, lua_json_object, opt_string
from ...runtime.convert import lua_type, type_name
from ...runtime.errors import NkArgError
from ..users.nk import lua_uuid
from .core import NAME, AccountsCore, AccountUpdate

__all__ = ["NK"]


def _optional(value: Any, argn: int) -> str | None:
    return None if value is None else opt_string(value, argn)


def account_update_id(
    bridge: Bridge, user_id: Any = None, metadata: Any = None, username: Any = None, display_name: Any = None,
    timezone: Any = None, location: Any = None, lang_tag: Any = None, avatar_url: Any = None,
) -> tuple[()]:
    uid = lua_uuid(user_id, 1, "expects user ID to be a valid identifier")
    meta = None
    if metadata is not None:
        if lua_type(metadata) != "table":
            raise NkArgError(f"table expected, got {type_name(metadata)}", 2)
        meta = lua_json_object(metadata, None, "error encoding metadata")
    update = AccountUpdate(
        uid, opt_string(username, 3), _optional(display_name, 4), _optional(timezone, 5), _optional(location, 6),
        _optional(lang_tag, 7), _optional(avatar_url, 8), meta,
    )
    core: AccountsCore = bridge.feature("account_update_id", NAME)
    bridge.run_core("account_update_id", "error while trying to update user", core.db, core.update, [update])
    return ()


NK: dict[str, Callable[..., Any]] = {"account_update_id": account_update_id}
