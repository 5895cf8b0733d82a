"""Parties (stream mode 7): players group up before they play together (nakama-features.md §6).

``core.Parties`` holds the rules over the stream engine and a ``PartyRegistry``
(``registry.MemoryPartyRegistry`` here); the doors are the realtime party messages
(``socket.py``), ``GET /v2/party`` (``rest.py``) and ``nk.party_list`` (``nk.py``).
"""

from __future__ import annotations

from typing import Any

from .. import Feature
from .core import NAME, Parties
from .nk import NK
from .registry import MemoryPartyRegistry
from .rest import ROUTES
from .socket import DOORS

__all__ = ["NK", "NAME", "build"]


def build(services: Any) -> Feature:
    core = Parties(services.streams, MemoryPartyRegistry(), services.config.party)
    return Feature(NAME, core, socket=DOORS, routes=ROUTES, start=core.start, close=core.shutdown)
