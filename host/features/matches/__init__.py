"""Multiplayer matches: relayed (mode 5) and authoritative with Lua match handlers (mode 6).

Core: ``core.py`` (the ``Matches`` facade), ``relayed.py``, ``authoritative.py`` (one match's
queues and rules), ``scheduler.py`` (the ticker and the match worker threads),
``registry.py`` (the MatchRegistry interface, the listing index; the query language is the
shared ``host/features/labelquery.py``).
Doors: ``socket.py`` (match_create, match_join, match_leave, match_data_send), ``rest.py``
(GET /v2/match), ``nk.py`` (nk.match_create/get/list/signal). The Lua side of a match, its
own VM, is ``host/runtime/match_vm.py``; it is wired in here, at start, because the core
knows no Lua.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .. import Feature
from .core import Matches
from .nk import NK
from .rest import ROUTES
from .socket import DOORS

__all__ = ["build", "NK", "NAME", "Matches"]

NAME = "matches"


def build(services: Any) -> Feature:
    core = Matches(services.config, services.streams)

    async def start() -> None:
        from ...runtime.match_vm import MatchVms
        from ...runtime.outbox import Outbox

        # One FIFO to the loop for every match VM: a match's sends and nk calls keep their
        # order (its jobs run one at a time) and a burst from many matches costs one wakeup.
        outbox = Outbox(asyncio.get_running_loop())
        vms = MatchVms(lambda: services.runtime, outbox)
        core.attach(outbox.post, vms)
        checks = getattr(services.runtime, "generation_checks", None)
        if checks is not None:
            checks.append(vms.check)

    return Feature(NAME, core, socket=DOORS, routes=ROUTES, start=start, close=core.close)
