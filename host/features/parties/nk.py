"""``nk.party_list(limit?, open?, show_hidden?, query?, cursor?)`` -> ``parties, cursor|nil``.

Nakama 3.40's arguments and their order. Its slip is not copied: each party's id is under
``party_id`` (Nakama wrote it under ``match_id``, which stays as an alias so modules written
for Nakama still find it), with ``maxSize`` as Nakama names it; ``open`` may be left out
instead of being positionally required, and ``show_hidden`` defaults to false. Each item also
says whether the party is ``hidden`` (only hidden parties listed with ``show_hidden`` are).
"""

from __future__ import annotations

from typing import Any

from ...errors import ApiError
from ...runtime.bridge import Bridge, opt_bool, opt_string
from ...runtime.convert import type_name
from ...runtime.errors import NkArgError
from .core import NAME

__all__ = ["NK"]


def party_list(bridge: Bridge, limit: Any = None, open: Any = None, show_hidden: Any = None, query: Any = None, cursor: Any = None) -> tuple[Any, ...]:
    if limit is None:
        count = 10
    elif isinstance(limit, bool) or not isinstance(limit, (int, float)) or not float(limit).is_integer():
        raise NkArgError(f"expects limit to be an integer, got {type_name(limit)}", 1)
    elif not 0 <= limit <= 100:
        raise NkArgError("expects limit to be 0-100", 1)
    else:
        count = int(limit)
    if open is not None and not isinstance(open, bool):
        raise NkArgError("expects open true/false or nil", 2)
    hidden = opt_bool(show_hidden, 3, False)
    text, after = opt_string(query, 4), opt_string(cursor, 5)
    core = bridge.feature("party_list", NAME)
    try:
        parties, next_cursor = bridge.ask("party_list", core.list, count, open, hidden, text, after)
    except ApiError as exc:
        raise NkArgError(f"failed to list parties: {exc.message}") from None
    items = [
        {"party_id": p.party_id, "match_id": p.party_id, "open": p.open, "hidden": p.hidden, "maxSize": p.max_size, "label": p.label}
        for p in parties
    ]
    return items, next_cursor or None


NK = {"party_list": party_list}
