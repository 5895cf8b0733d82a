"""A wallet and the rule for changing it: pure functions, no database.

A wallet is a JSON object of whole numbers (Nakama's ``map[string]int64``). A changeset adds
its amounts key by key; a key the wallet lacks starts at 0. No value may go below 0: the
whole change is refused, naming the first key that would (Nakama's WalletNegativeError).
A sum past int64 is refused the same way: Go's int64 wraps it negative, so Nakama answers
that very text (⚠ kept, so a module that matches on it still does).
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from host.errors import ApiError, Code

__all__ = ["INT64_MAX", "INT64_MIN", "WalletNegative", "apply_changeset", "parse_wallet", "wallet_text"]

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


class WalletNegative(ApiError):
    """A change that would leave ``path`` below zero (``current + amount < 0``)."""

    def __init__(self, user_id: str, path: str, current: int, amount: int) -> None:
        super().__init__(Code.INVALID_ARGUMENT, f"wallet update rejected negative value at path '{path}'")
        self.user_id = user_id
        self.path = path
        self.current = current
        self.amount = amount


def apply_changeset(user_id: str, wallet: Mapping[str, int], changeset: Mapping[str, int]) -> dict[str, int]:
    """The wallet after ``changeset``, as a new dict; ``wallet`` is left as it was."""
    updated = dict(wallet)
    for key, amount in changeset.items():
        current = updated.get(key, 0)
        value = current + amount
        if not 0 <= value <= INT64_MAX:
            raise WalletNegative(user_id, key, current, amount)
        updated[key] = value
    return updated


def parse_wallet(user_id: str, text: str | None) -> dict[str, int]:
    """A stored wallet. Anything but an object of whole numbers (a wallet written by an older
    Nakama, say, with nested maps) is refused rather than guessed at."""
    try:
        value = orjson.loads(text or "{}")
    except orjson.JSONDecodeError:
        value = None
    if isinstance(value, dict):
        wallet = {}
        for key, amount in value.items():
            if isinstance(amount, float) and amount.is_integer():
                amount = int(amount)
            if type(amount) is not int:
                break
            wallet[key] = amount
        else:
            return wallet
    raise ApiError(Code.INTERNAL, f"wallet of user {user_id} is not an object of whole numbers")


def wallet_text(wallet: Mapping[str, int]) -> str:
    """JSON with sorted keys, compact: what Go's json.Marshal writes for the map."""
    return orjson.dumps(dict(wallet), option=orjson.OPT_SORT_KEYS).decode()
