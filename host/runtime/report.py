"""The start-up and reload report: what one generation loaded, in one block or one record.

Nakama logs one line per registration; a designer wants one answer after each save: did it
load, which files, which RPC ids, hooks and match handlers, how long it took, and if not,
``file:line: message`` for each error. The server logs it once per generation (a text block,
or with ``logger.format: json`` one record with the lists as fields, see host/log.py) and
``nkhost check`` prints the same block.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .registrations import never_called
from .sandbox import HOOK_KINDS, Catalog
from .snapshot import Module

__all__ = ["GenerationReport", "report", "log_report"]

log = logging.getLogger("nkhost.runtime")

_HOOK_TITLES = {"req_before": "before", "req_after": "after", "rt_before": "rt before", "rt_after": "rt after"}


@dataclass(slots=True)
class GenerationReport:
    generation: int
    ok: bool
    seconds: float
    modules: list[tuple[str, str]] = field(default_factory=list)  # (name, file)
    rpcs: list[str] = field(default_factory=list)
    hooks: dict[str, list[str]] = field(default_factory=dict)  # req_before/... -> names
    match_handlers: list[str] = field(default_factory=list)  # module names
    registrations: list[str] = field(default_factory=list)  # "register_event 1 (events.lua)"
    shutdown: int = 0
    errors: list[str] = field(default_factory=list)  # file:line: message
    warnings: list[str] = field(default_factory=list)  # overridden registrations, handlers nothing calls yet
    kept: int = 0  # the generation still serving when this one was refused

    def headline(self) -> str:
        ms = f"{self.seconds * 1000:.1f} ms"
        if self.ok:
            return f"runtime generation {self.generation} live: {_count(len(self.modules), 'module')}, {_count(len(self.rpcs), 'RPC')} in {ms}"
        keeping = f", generation {self.kept} keeps serving" if self.kept else ""
        return f"runtime generation {self.generation} refused: {_count(len(self.errors), 'error')} in {ms}{keeping}"

    def text(self) -> str:
        """The readable block: a headline, then one indented section per non-empty list."""
        lines = [self.headline()]

        def section(title: str, items: Sequence[str]) -> None:
            if items:
                lines.append(f"  {title} ({len(items)}):")
                lines.extend(f"    {item}" for item in items)

        section("errors", self.errors)
        section("modules", [f"{name}  {path}" for name, path in self.modules])
        section("rpcs", self.rpcs)
        for kind in HOOK_KINDS:
            section(f"hooks {_HOOK_TITLES[kind]}", self.hooks.get(kind, []))
        section("match handlers", self.match_handlers)
        section("other registrations", self.registrations + ([f"register_shutdown x{self.shutdown}"] if self.shutdown else []))
        section("warnings", self.warnings)
        return "\n".join(lines)

    def record(self) -> dict[str, Any]:
        """The structured record's fields (JSON log format)."""
        return {
            "runtime_generation": self.generation,
            "ok": self.ok,
            "duration_ms": round(self.seconds * 1000, 3),
            "modules": [{"name": name, "file": path} for name, path in self.modules],
            "rpcs": self.rpcs,
            "hooks": {_HOOK_TITLES[kind].replace(" ", "_"): self.hooks.get(kind, []) for kind in HOOK_KINDS},
            "match_handlers": self.match_handlers,
            "registrations": self.registrations,
            "shutdown_functions": self.shutdown,
            "errors": self.errors,
            "warnings": self.warnings,
        }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def report(
    generation: int,
    seconds: float,
    modules: Sequence[Module],
    catalog: Catalog | None,
    errors: Sequence[str],
    match_handlers: Sequence[str] = (),
    kept: int = 0,
) -> GenerationReport:
    """The report of one generation; ``catalog`` is None when it did not load."""
    out = GenerationReport(generation, not errors, seconds, [(m.name, m.path) for m in modules], errors=list(errors), kept=kept)
    if catalog is None or errors:
        return out
    out.rpcs = sorted(catalog.rpcs)
    out.hooks = {kind: sorted(catalog.hooks.get(kind, ())) for kind in HOOK_KINDS}
    out.match_handlers = list(match_handlers)
    out.registrations = [f"register_{r.kind}{' ' + r.key if r.key else ''} ({r.path or '?'})" for r in catalog.handlers]
    out.shutdown = catalog.shutdown
    out.warnings = [*catalog.overrides, *never_called(catalog.handlers)]
    return out


def log_report(r: GenerationReport) -> None:
    """One log record: the text block as its message, the fields and the headline as extras
    that the JSON formatter writes instead (host/log.py). Refused generations log at error."""
    log.log(logging.INFO if r.ok else logging.ERROR, "%s", r.text(), extra={"fields": r.record(), "summary": r.headline()})
