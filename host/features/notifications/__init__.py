"""In-app notifications (stream mode 0): ``core.py`` the rules, ``rows.py`` the stored ones,
doors ``rest.py`` (``/v2/notification``) and ``nk.py`` (``nk.notification*``).

Other features send through the core: ``await services.features["notifications"].send([Draft(...)])``.
"""

from __future__ import annotations

from typing import Any

NAME = "notifications"

from ...storage import Schema  # noqa: E402  (NAME first: the doors import it from here)
from .. import Feature  # noqa: E402
from .core import NotificationsCore  # noqa: E402
from .nk import NK  # noqa: E402
from .rest import ROUTES  # noqa: E402
from .rows import MIGRATIONS, SqlNotificationRows  # noqa: E402

__all__ = ["NAME", "NK", "SCHEMA", "build"]

SCHEMA = Schema(NAME, MIGRATIONS)


def build(services: Any) -> Feature:
    core = NotificationsCore(services.streams, SqlNotificationRows(services.database))
    return Feature(NAME, core, routes=ROUTES, close=core.close)
