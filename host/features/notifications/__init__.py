"""In-app notifications (stream mode 0): ``core.py`` the rules, ``rows.py`` the stored ones,
doors ``rest.py`` (``/v2/notification``) and ``nk.py`` (``nk.notification*``).

Other features send through the core: ``await services.features["notifications"].send([Draft(...)])``.
"""

from __future__ import annotations

NAME = "notifications"
