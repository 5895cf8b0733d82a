"""Logging setup from ``logger.level`` and ``logger.format`` (json or text), to stdout.

JSON lines carry Nakama's zap field names (``level``, ``ts``, ``caller``,
``msg``) so existing log pipelines read them unchanged. A record logged with
``extra={"fields": {...}, "summary": "..."}`` (the generation report) becomes one JSON
object with those fields and the summary as ``msg``; the text format prints its message.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

__all__ = ["setup_logging", "JsonFormatter"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "level": "warn" if record.levelno == logging.WARNING else record.levelname.lower(),
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "caller": f"{record.module}:{record.lineno}",
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):  # a structured record (the runtime's generation report)
            out["msg"] = getattr(record, "summary", out["msg"])
            out.update(fields)
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return orjson.dumps(out).decode()


def setup_logging(level: str = "info", fmt: str = "json") -> None:
    """Replace the root handlers with one stdout handler (idempotent)."""
    handler = logging.StreamHandler(sys.stdout)
    if fmt == "json":
        formatter: logging.Formatter = JsonFormatter()
        formatter.converter = time.gmtime
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS.get(level, logging.INFO))
