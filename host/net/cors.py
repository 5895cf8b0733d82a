"""CORS as Nakama sets it up: gorilla/handlers CORS with every origin allowed.

Nakama wraps its HTTP handler in ``handlers.CORS(AllowedOrigins(["*"]),
AllowedHeaders(["Authorization", "Content-Type", "User-Agent"]),
AllowedMethods(["GET", "HEAD", "POST", "PUT", "DELETE"]))``. gorilla adds
its defaults to those lists; this module reproduces its decisions so browser
clients see the same answers. Requests without an ``Origin`` header are not
CORS requests and pass through untouched.
"""

from __future__ import annotations

from .http import Request, Response, canonical_header_name

__all__ = ["preflight", "response_headers"]

# gorilla's simple headers and methods, plus Nakama's additions.
_DEFAULT_HEADERS = frozenset({"Accept", "Accept-Language", "Content-Language", "Origin"})
_ALLOWED_HEADERS = _DEFAULT_HEADERS | {"Authorization", "Content-Type", "User-Agent"}
_DEFAULT_METHODS = frozenset({"GET", "HEAD", "POST"})
_ALLOWED_METHODS = _DEFAULT_METHODS | {"PUT", "DELETE"}


def response_headers(request: Request) -> list[tuple[str, str]]:
    """Headers added to an actual (non-preflight) response."""
    if not request.headers.get("origin"):
        return []
    return [("Access-Control-Allow-Origin", "*")]


def preflight(request: Request) -> Response | None:
    """The answer to an OPTIONS request carrying an Origin; None when not a preflight.

    gorilla: no Access-Control-Request-Method is 400, a method outside the
    list is 405, a requested header outside the list is 403; otherwise 200
    with the origin, the non-simple requested headers and, for a non-simple
    method, that method.
    """
    if request.method != "OPTIONS" or not request.headers.get("origin"):
        return None
    method = request.headers.get("access-control-request-method")
    if method is None:
        return Response(400, b"", "")
    if method not in _ALLOWED_METHODS:
        return Response(405, b"", "")
    allow_headers = []
    for item in request.headers.get("access-control-request-headers", "").split(","):
        name = canonical_header_name(item.strip())
        if not name or name in _DEFAULT_HEADERS:
            continue
        if name not in _ALLOWED_HEADERS:
            return Response(403, b"", "")
        allow_headers.append(name)
    headers = []
    if allow_headers:
        headers.append(("Access-Control-Allow-Headers", ",".join(allow_headers)))
    if method not in _DEFAULT_METHODS:
        headers.append(("Access-Control-Allow-Methods", method))
    headers.append(("Access-Control-Allow-Origin", "*"))
    return Response(200, b"", "", headers)
