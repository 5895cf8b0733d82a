"""``PUT /v2/account`` (Nakama's UpdateAccount): the caller changes its own profile.

Bearer auth, then the ``UpdateAccount`` before hook (it may replace the request, or reject it
by returning nil: 404 "Requested resource was not found."), then Nakama's checks in its
order: a username that is sent must be 1-128 bytes, has no control characters and is free,
and something must be sent; each failure is 400 / code 3 with Nakama's text. Every field is
a ``google.protobuf.StringValue``: absent or null leaves it alone, "" clears it. A database
that cannot serve answers 13 "Error while trying to update account.". The answer is ``{}``;
the after hook gets it and the request.
"""

from __future__ import annotations

from typing import Any

from ...errors import ApiError, Code
from ...net.api import Route
from ...net.api_support import after_hook, authenticate_bearer, before_hook, endpoint, json_object, ok, opt_str_field
from ...net.http import Request, Response
from ...storage import DatabaseError
from .core import NAME, AccountsCore, AccountUpdate

__all__ = ["ROUTES"]

_FIELDS = ("username", "display_name", "timezone", "location", "lang_tag", "avatar_url")


def _fields(payload: dict[str, Any]) -> dict[str, str | None]:
    return {name: opt_str_field(payload, name) for name in _FIELDS}


@endpoint
async def update_account(services: Any, request: Request) -> Response:
    claims = authenticate_bearer(services, request)
    payload = json_object(request)
    _fields(payload)  # a wrongly typed field is refused before any hook runs, as grpc-gateway does
    payload = await before_hook(services, "UpdateAccount", request, payload, claims)
    fields = _fields(payload)
    username = fields.pop("username")
    if username is not None and not 1 <= len(username.encode()) <= 128:
        raise ApiError(Code.INVALID_ARGUMENT, "Username invalid, must be 1-128 bytes.")
    core: AccountsCore = services.features[NAME]
    try:
        await core.update([AccountUpdate(claims.user_id, username or "", **fields)])
    except DatabaseError:
        raise ApiError(Code.INTERNAL, "Error while trying to update account.") from None
    body: dict[str, Any] = {}
    await after_hook(services, "UpdateAccount", request, body, payload, claims)
    return ok(body)


ROUTES = [Route(("PUT",), "/v2/account", update_account)]
