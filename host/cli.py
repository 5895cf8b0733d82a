"""The ``nkhost`` command: start the server, ``nkhost check`` the Lua modules, ``nkhost migrate``.

``nkhost [--config FILE] [--section.key VALUE ...]`` serves until SIGTERM or
SIGINT, then shuts down in ``App.close``'s order (every socket gets a close
frame) and exits 0. ``nkhost check --runtime.path DIR`` loads the modules
without serving and prints the same generation report the server logs (modules, RPC ids,
hooks, match handlers, time, each error as ``file:line: message`` and a warning for each
registered handler that nkhost will never call yet); it exits 1 if there was any error.
``nkhost annotations DIR`` writes ``nk_meta.lua``, the Lua Language Server annotations of
the ``nk`` module, into DIR (the README's "Editor completion" says where to point LuaLS).
``nkhost migrate up|status [--database.address ...]`` applies the pending schema
migrations, or prints where each feature's schema stands (the server also applies
them at start). A database that cannot be opened or migrated exits 1 with one line
saying why.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys

from .config import ConfigError, add_flags, load
from .log import setup_logging

__all__ = ["main"]

log = logging.getLogger("nkhost")


def _parse(prog: str, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    add_flags(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "annotations":
        return _annotations(argv[1:])
    command = argv.pop(0) if argv and argv[0] in ("check", "migrate") else "serve"
    action = ""
    if command == "migrate":
        if not argv or argv[0] not in ("up", "status"):
            print("usage: nkhost migrate up|status [--database.address ADDRESS ...]", file=sys.stderr)
            return 2
        action = argv.pop(0)
    args = _parse("nkhost" if command == "serve" else f"nkhost {command}", argv)
    try:
        config = load(args)
    except ConfigError as exc:
        print(f"nkhost: {exc}", file=sys.stderr)
        return 2
    if command == "check":
        return _check(config.runtime.path)
    setup_logging(config.logger.level, config.logger.format)
    if command == "migrate":
        return _run(_migrate(config, action))
    return _run(_serve(config))


async def _migrate(config: object, action: str) -> int:
    from .app import schemas
    from .storage import DatabaseError
    from .storage.engine import database_for
    from .storage.migrate import migrate, schema_status

    db = database_for(config)  # type: ignore[arg-type]
    try:
        await db.open()
        try:
            if action == "up":
                applied = await migrate(db, schemas())
                for feature, version in applied:
                    print(f"applied {feature} {version}")
                print(f"{len(applied)} migration(s) applied")
            else:
                for status in await schema_status(db, schemas()):
                    state = f"{status.pending} pending" if status.pending else "up to date"
                    print(f"{status.feature}: version {status.applied} of {status.latest} ({state})")
        finally:
            await db.close()
    except DatabaseError as exc:
        print(f"nkhost migrate: {exc}", file=sys.stderr)
        return 1
    return 0


def _check(path: str) -> int:
    """Errors make the exit code 1; warnings (handlers nothing will call yet) do not."""
    import time

    from .features import nk_functions
    from .runtime import standalone_vm
    from .runtime.match_vm import handler_modules
    from .runtime.report import report
    from .runtime.snapshot import snapshot

    started = time.perf_counter()
    vm, errors = standalone_vm(path, nk_functions())
    modules = snapshot(path).modules
    handlers = handler_modules(vm, modules) if vm is not None and not errors else []
    seconds = time.perf_counter() - started
    print(report(1, seconds, modules, vm.catalog if vm is not None else None, errors, handlers).text())
    return 1 if errors else 0


def _annotations(argv: list[str]) -> int:
    from pathlib import Path

    from .runtime.annotations import META_NAME, meta_source

    if len(argv) != 1 or argv[0].startswith("-"):
        print("usage: nkhost annotations DIR", file=sys.stderr)
        return 2
    target = Path(argv[0])
    try:
        target.mkdir(parents=True, exist_ok=True)
        (target / META_NAME).write_bytes(meta_source())
    except OSError as exc:
        print(f"nkhost annotations: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {target / META_NAME}")
    return 0


def _run(coro: object) -> int:
    try:
        import uvloop  # ~25 % less CPU per delivered frame (socket-layer-measurements.md, E + uvloop)
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    return uvloop.run(coro)  # type: ignore[arg-type,no-any-return]


async def _serve(config: object) -> int:
    from .app import build_app
    from .runtime.errors import LoadError
    from .storage import DatabaseError

    app = build_app(config)  # type: ignore[arg-type]
    try:
        await app.start()
    except LoadError as exc:
        log.error("cannot start: %d Lua module error(s), see the runtime generation report above", len(exc.errors))
        return 1
    except (OSError, DatabaseError) as exc:
        log.error("cannot start: %s", exc)
        return 1
    # Everything built so far (modules, VMs, routes) lives as long as the process: keep it out
    # of the cyclic collector's full passes, which otherwise walk it all again and again.
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("nkhost ready on port %d", app.port)
    await stop.wait()
    log.info("shutting down")
    await app.close()
    return 0
