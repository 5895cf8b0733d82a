"""Static files under ``/web/`` from ``web.static_dir``: the browser demo, served by nkhost itself.

Off unless ``web.static_dir`` is set (Nakama has no such route). Only GET and HEAD reach
it (any other method is the route table's 405). The request path arrives percent-decoded
once (http_protocol), so ``%2e%2e`` and ``%2f`` are already ``..`` and ``/`` here, and a
``%252e`` stays a literal ``%2e`` name. A path is served only when every segment is a plain
name (not empty, not starting with a dot, so no ``..``, no absolute path and no dotfiles; no
backslash, no NUL) and the file it names, symlinks resolved, is a regular file inside the
resolved directory; anything else is Go's plain ``404 page not found``. Responses carry
``Cache-Control: no-cache`` so a designer's edit shows on the next reload.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from .api import Route
from .http import Request, Response, text_error

__all__ = ["PREFIX", "routes", "resolve", "content_type"]

PREFIX = "/web/"

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
_HEADERS = [("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-cache")]


def routes(static_dir: str) -> list[Route]:
    """The two routes serving ``static_dir`` (none when it is empty): ``/web`` redirects to ``/web/``."""
    if not static_dir:
        return []
    root = Path(static_dir).resolve()

    async def serve(services: Any, request: Request) -> Response:
        path = resolve(root, request.path_params["path"])
        if path is None:
            return text_error(404, "404 page not found")
        return Response(200, await asyncio.to_thread(path.read_bytes), content_type(path), list(_HEADERS))

    return [Route(("GET",), PREFIX.rstrip("/"), _to_prefix), Route(("GET",), PREFIX + "{path:.*}", serve)]


async def _to_prefix(services: Any, request: Request) -> Response:
    return Response(301, b"", "", [("Location", PREFIX)])


def resolve(root: Path, relative: str) -> Path | None:
    """The regular file ``relative`` names inside ``root`` (already resolved), or None.

    A directory's name ending in ``/`` (or the empty path) means its ``index.html``.
    """
    if relative == "" or relative.endswith("/"):
        relative += "index.html"
    for part in relative.split("/"):
        if not part or part.startswith(".") or "\\" in part or "\x00" in part:
            return None
    try:
        real = (root / relative).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, a symlink loop, a name too long
        return None
    if not real.is_relative_to(root) or not real.is_file():
        return None
    return real


def content_type(path: Path) -> str:
    return _TYPES.get(path.suffix.lower(), "application/octet-stream")
