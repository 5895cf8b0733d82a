"""Friends (Nakama's user_edge): invites, friendships and blocks between two users.

``edges.py`` is the state machine, ``store.py`` its table, ``core.py`` the rules (one
transaction per operation, notifications after it, blocks closing the pair's DM stream);
the doors are ``rest.py`` (``/v2/friend``, ``/v2/friend/block``) and ``nk.py``.
"""

from __future__ import annotations

from typing import Any

from .. import Feature
from .core import NAME, FriendsCore
from .nk import NK
from .rest import ROUTES
from .store import SCHEMA

__all__ = ["NAME", "NK", "SCHEMA", "build"]


def build(services: Any) -> Feature:
    features = services.features
    core = FriendsCore(services.database, services.streams, features["users"], features["notifications"])
    return Feature(NAME, core, routes=ROUTES)
