"""HTTP routing: the route table and the one dispatch function.

``CORE_ROUTES`` are the routes of the network layer itself (health, ``/ws``, RPC,
authentication and account); each built-in feature brings its own
(``host/features``), and ``host/app.py`` builds one ``RouteTable`` from them all
(``services.routes``). Routes are data: ``Route(methods, pattern, handler)``. A pattern segment
``{name}`` matches one path segment, ``{name:.*}`` the rest of the path
(possibly empty, as Nakama's ``/v2/rpc/{id:.*}``). Handlers are
``async def handler(services, request) -> Response`` and receive the matched
values in ``request.path_params``.

``dispatch`` adds what every route shares: CORS (preflight answers and the
allow-origin header), the grpc-gateway 404/405 bodies, the request body limit
(``socket.max_request_size_bytes``; a route with ``checks_body_size`` reports
it itself, at the point Nakama does) and a 500 for a handler that raises.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

from . import api_auth, api_rpc, cors
from .http import Handler, Request, Response, error_response, json_response
from .socket_ws import socket_route

__all__ = ["Route", "CORE_ROUTES", "RouteTable", "dispatch", "start", "WAITING"]

WAITING = api_rpc.WAITING
"""What ``start`` returns when the response comes later, through ``done``."""

log = logging.getLogger("nkhost.api")


@dataclass(slots=True)
class Route:
    """``start`` (optional): the handler without a task, for ``api.start`` (see api_rpc.start)."""

    methods: tuple[str, ...]
    pattern: str
    handler: Handler
    checks_body_size: bool = False
    start: Callable[[Any, Request, Callable[[Response], None]], Any] | None = None
    regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.regex = re.compile("^" + "".join(map(_pattern_part, re.split(r"(\{[^}]+\})", self.pattern))) + "$")


def _pattern_part(part: str) -> str:
    if not part.startswith("{"):
        return re.escape(part)
    name, _, rule = part[1:-1].partition(":")
    return f"(?P<{name}>.*)" if rule == ".*" else f"(?P<{name}>[^/]+)"


async def _root(services: Any, request: Request) -> Response:
    return Response(200, b"", "")


async def _healthcheck(services: Any, request: Request) -> Response:
    return json_response({})


CORE_ROUTES: list[Route] = [
    Route(("GET",), "/", _root),
    Route(("GET",), "/healthcheck", _healthcheck),
    Route(("GET",), "/ws", socket_route),
    Route(("GET", "POST"), "/v2/rpc/{id:.*}", api_rpc.call, checks_body_size=True, start=api_rpc.start),
    *(Route((method,), path, handler) for (method, path), handler in api_auth.ROUTES.items()),
]

_NOT_FOUND = Response(404, b'{"code":5,"message":"Not Found"}')
_METHOD_NOT_ALLOWED = Response(405, b'{"code":12,"message":"Method Not Allowed"}')
_BODY_TOO_LARGE = error_response(3, "http: request body too large")
_INTERNAL = error_response(13, "Internal Server Error")


class RouteTable:
    """Finds the route for a method and path; exact paths by dict, patterns in order."""

    __slots__ = ("_exact", "_patterns")

    def __init__(self, routes: list[Route]) -> None:
        self._exact: dict[str, list[Route]] = {}
        self._patterns: list[Route] = []
        for route in routes:
            if "{" in route.pattern:
                self._patterns.append(route)
            else:
                self._exact.setdefault(route.pattern, []).append(route)

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, path params, path known). ``path known`` tells 405 from 404."""
        known = False
        for route in self._exact.get(path, ()):
            known = True
            if method in route.methods or (method == "HEAD" and "GET" in route.methods):
                return route, {}, True
        for route in self._patterns:
            m = route.regex.match(path)
            if m is not None:
                known = True
                if method in route.methods or (method == "HEAD" and "GET" in route.methods):
                    return route, m.groupdict(), True
        return None, {}, known


async def dispatch(services: Any, request: Request) -> Response:
    """Answer one HTTP request (never raises)."""
    found = _route(services, request)
    if type(found) is Response:
        return _with_cors(request, found)
    return await _handle(services, request, found)


async def _handle(services: Any, request: Request, route: Route) -> Response:
    try:
        response = await route.handler(services, request)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        response = _INTERNAL
    return _with_cors(request, response)


def start(services: Any, request: Request, done: Callable[[Response], None]) -> Any:
    """``dispatch`` without a task where the route has a ``start``: the Response now, or
    ``WAITING`` and ``done(response)`` later; for any other route, dispatch's coroutine (never
    raises, as dispatch)."""
    found = _route(services, request)
    if type(found) is Response:
        return _with_cors(request, found)
    if found.start is None:
        return _handle(services, request, found)
    try:
        step = found.start(services, request, lambda response: done(_with_cors(request, response)))
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        step = _INTERNAL
    return step if step is WAITING else _with_cors(request, step)


def _route(services: Any, request: Request) -> Route | Response:
    """The route that answers ``request`` (its path params set), or the answer given without one."""
    response = cors.preflight(request)
    if response is not None:
        return response
    route, params, known = services.routes.match(request.method, request.path)
    if route is None:
        return _METHOD_NOT_ALLOWED if known else _NOT_FOUND
    if request.body_too_large and not route.checks_body_size:
        return _BODY_TOO_LARGE
    request.path_params = params
    return route


def _with_cors(request: Request, response: Response) -> Response:
    extra = cors.response_headers(request)
    if extra:
        response = Response(response.status, response.body, response.content_type, response.headers + extra)
    return response
