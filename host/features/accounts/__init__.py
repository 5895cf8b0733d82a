"""Accounts: changes to an account after it exists. The user changes its own profile with
``PUT /v2/account`` (``rest.py``), server code any user's with ``nk.account_update_id``
(``nk.py``); ``core.py`` holds the rules. Signing up and in live in ``host.accounts``.
"""

from __future__ import annotations

from typing import Any

from .. import Feature
from .core import NAME, AccountsCore
from .nk import NK
from .rest import ROUTES

__all__ = ["NAME", "NK", "build"]


def build(services: Any) -> Feature:
    return Feature(NAME, AccountsCore(services.database), routes=ROUTES)
