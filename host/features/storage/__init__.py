"""Storage objects (Nakama's storage engine): REST endpoints, nk.storage_* and the ``storage`` table."""

from __future__ import annotations

from typing import Any

from host.features import Feature

from .core import SCHEMA, StorageCore
from .nk import NAME, NK

__all__ = ["build", "NK", "SCHEMA"]


def build(services: Any) -> Feature:
    from .rest import ROUTES

    return Feature(NAME, StorageCore(services.database), routes=ROUTES)
