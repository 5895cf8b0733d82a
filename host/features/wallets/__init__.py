"""Wallets: a user's whole-number balances (``users.wallet``) and the ledger of their changes
(``wallet_ledger``), changed by server code only: ``nk.wallet_update``, ``wallets_update``,
``wallet_ledger_list``, ``wallet_ledger_update``. Clients read the wallet in ``GET /v2/account``.

``changeset.py`` holds the rule (no value below zero), ``core.py`` the transactions, ``nk.py``
the Lua door.
"""

from __future__ import annotations

from typing import Any

from .. import Feature
from .core import NAME, SCHEMA, WalletsCore
from .nk import NK

__all__ = ["NAME", "NK", "SCHEMA", "build"]


def build(services: Any) -> Feature:
    return Feature(NAME, WalletsCore(services.database))
