"""nk.http_request(url, method, headers, content?, timeout_ms?, insecure?) with Nakama's checks,
defaults and error texts (``httpRequest`` in server/runtime_lua_nakama.go).

The request runs on the loop (host/net/http_client.py, asyncio: no thread, no GIL held while
it waits); the worker blocks on it as on any nk call that needs an answer, in script order.
It is bounded by its own timeout (default 5000 ms, as Nakama), by what is left of the Lua
call's deadline, by ``runtime.http_request_max_response_bytes`` and by the hosts in
``runtime.http_request_hosts``. Returns ``code, headers, body``: headers by Go's canonical
name, the first value of each, as Nakama does.
"""

from __future__ import annotations

import time
from typing import Any

from ..config import RuntimeConfig
from ..net.http_client import BodyError, HttpPolicy, HttpRequest, RequestError, fetch
from .bridge import Bridge, check_string, lua_number_text, opt_bool
from .convert import lua_type, type_name
from .errors import NkArgError

__all__ = ["http_request", "policy_from_config"]

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"})
_DEFAULT_TIMEOUT_MS = 5000


def _margin(bridge: Bridge) -> float:
    """Time left to the script after a request cut short by the call's deadline (a tenth of the
    deadline, 20-250 ms), so it can still handle the error before the deadline aborts the call."""
    return min(0.25, max(0.02, bridge.vm.limits.timeout_ms / 10000.0))


def policy_from_config(config: RuntimeConfig) -> HttpPolicy:
    return HttpPolicy(tuple(config.http_request_hosts), config.http_request_max_response_bytes)


def _headers(table: Any) -> tuple[tuple[bytes, bytes], ...]:
    """CheckTable(3), then every value must be a string (Nakama: RaiseError)."""
    if lua_type(table) != "table":
        raise NkArgError(f"table expected, got {type_name(table)}", 3)
    out = []
    for name, value in table.items():
        if not isinstance(value, bytes):
            raise NkArgError("HTTP header values must be strings")
        if isinstance(name, bool):  # Nakama turns every key into its text
            name = b"true" if name else b"false"
        elif isinstance(name, (int, float)):
            name = lua_number_text(name).encode()
        elif not isinstance(name, bytes):
            raise NkArgError("HTTP header names must be strings")
        out.append((name, value))
    return tuple(out)


def _opt_body(value: Any) -> bytes:
    """OptString(4, ""): a real string (binary-safe) or nil."""
    if value is None:
        return b""
    if not isinstance(value, bytes):
        raise NkArgError(f"string expected, got {type_name(value)}", 4)
    return value


def _opt_timeout(value: Any) -> int:
    """OptInt64(5, 5000); zero or less also means 5000."""
    if value is None:
        return _DEFAULT_TIMEOUT_MS
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NkArgError(f"number expected, got {type_name(value)}", 5)
    ms = int(value)
    return ms if ms > 0 else _DEFAULT_TIMEOUT_MS


def http_request(
    bridge: Bridge, url: Any = None, method: Any = None, headers: Any = None, content: Any = None,
    timeout_ms: Any = None, insecure: Any = None,
) -> tuple[int, dict[str, bytes], bytes]:
    target = check_string(url, 1)
    verb = check_string(method, 2).upper()
    header_list = _headers(headers)
    body = _opt_body(content)
    if target == "":
        raise NkArgError("expects URL string", 1)
    if verb not in _METHODS:
        raise NkArgError("expects method to be one of: 'get', 'post', 'put', 'patch', 'delete', 'head'", 2)
    timeout = _opt_timeout(timeout_ms) / 1000.0
    skip_verify = opt_bool(insecure, 6, False)
    budget = min(timeout, bridge.vm.deadline - time.monotonic() - _margin(bridge))
    if budget <= 0:
        raise NkArgError(f'HTTP request error: {verb[:1] + verb[1:].lower()} "{target}": context deadline exceeded')
    request = HttpRequest(verb, target, header_list, body, skip_verify, budget)
    policy = bridge.services.http or HttpPolicy()
    try:
        response = bridge.run("http_request", fetch, request, policy)
    except RequestError as exc:
        raise NkArgError(f"HTTP request error: {exc}") from None
    except BodyError as exc:
        raise NkArgError(f"HTTP response body error: {exc}") from None
    return response.status, response.headers, response.body
