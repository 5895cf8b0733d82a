"""Status (stream mode 1): ``/ws?status=true``, follows, status updates, ``online``.

``core.py`` holds the rules, ``registry.py`` who follows whom (the Router asks it who
hears a status event); the doors are ``socket.py`` and ``nk.py``.
"""

from __future__ import annotations

from typing import Any

NAME = "status"

from .. import Feature  # noqa: E402  (NAME first: the doors import it from here)
from .core import StatusCore  # noqa: E402
from .nk import NK  # noqa: E402
from .socket import DOORS  # noqa: E402

__all__ = ["NAME", "NK", "build"]


def build(services: Any) -> Feature:
    return Feature(NAME, StatusCore(services.streams, services.status, services.store), socket=DOORS)
