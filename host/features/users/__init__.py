"""Users: profiles and accounts by id or username (``GET /v2/user``, ``nk.users_get_id``,
``users_get_username``, ``account_get_id``, ``accounts_get_id``), with ``online`` from status.

The friends and groups features list users in the same shapes (``nk.user_table``,
``host.net.api_account.user_json``).
"""

from __future__ import annotations

from typing import Any

from .. import Feature
from .core import NAME, build_core
from .nk import NK
from .rest import ROUTES

__all__ = ["NAME", "NK", "build"]


def build(services: Any) -> Feature:
    return Feature(NAME, build_core(services), routes=ROUTES)
