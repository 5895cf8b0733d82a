"""Groups (Nakama's groups and group_edge): roles, join requests, bans and the group chat stream.

``membership.py`` is the state machine, ``store.py`` the tables, ``core.py`` the rules (one
transaction per operation; ``GroupsCore.listeners`` is where group chat records and
broadcasts its system messages); the doors are ``rest.py`` (``/v2/group...``,
``/v2/user/{user_id}/group``) and ``nk.py``.
"""

from __future__ import annotations

from typing import Any

from .. import Feature
from .core import NAME, GroupsCore
from .nk import NK
from .rest import ROUTES
from .store import SCHEMA

__all__ = ["NAME", "NK", "SCHEMA", "build"]


def build(services: Any) -> Feature:
    features = services.features
    core = GroupsCore(services.database, services.streams, features["users"], features["notifications"])
    return Feature(NAME, core, routes=ROUTES)
