"""What modules register beyond RPCs and hooks, and which of it nkhost cannot call yet.

Nakama modules register handlers for features nkhost does not have yet (the matchmaker,
tournaments, leaderboards, storage indexes). The prelude accepts and stores them, so such a
module loads and its other functions serve; ``never_called`` names each one that will sit
unused, for ``nkhost check`` and the server log. A feature that starts calling a kind removes
its entry from ``UNSERVED``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Registration", "UNSERVED", "never_called"]


@dataclass(slots=True, frozen=True, order=True)
class Registration:
    """One stored registration: ``kind`` as in ``register_<kind>``, ``key`` its name ("" for
    the kinds that take only a function), ``path`` the module file that registered it."""

    kind: str
    key: str
    path: str


UNSERVED: dict[str, str] = {
    "matchmaker_matched": "nkhost has no matchmaker yet",
    "tournament_end": "nkhost has no tournaments yet",
    "tournament_reset": "nkhost has no tournaments yet",
    "leaderboard_reset": "nkhost has no leaderboards yet",
    "storage_index": "nkhost has no storage indexes yet",
    "storage_index_filter": "nkhost has no storage indexes yet",
}
"""Registration kind -> why its handlers are never called."""


def never_called(registrations: Iterable[Registration]) -> list[str]:
    """One warning per registration that nothing will call, in module order ("file: what")."""
    lines = []
    for r in sorted(registrations, key=lambda r: (r.path, r.kind, r.key)):
        why = UNSERVED.get(r.kind)
        if why is None:
            continue
        what = "this index will never be built" if r.kind == "storage_index" else "this handler will never be called"
        name = f" {r.key!r}" if r.key else ""
        lines.append(f"{r.path or '?'}: register_{r.kind}{name}: {what} ({why})")
    return lines
