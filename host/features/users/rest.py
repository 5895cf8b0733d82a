"""``GET /v2/user?ids=&usernames=&facebook_ids=`` (Nakama's GetUsers).

Bearer auth. No ids and no usernames answers ``{}``; an id that is not a UUID is 400 / 3
"ID '<id>' is not a valid system ID."; unknown users are simply not in the answer. nkhost
has no Facebook links, so ``facebook_ids`` never match anyone.
"""

from __future__ import annotations

from typing import Any

from ...accounts.users import valid_ids
from ...errors import ApiError, Code
from ...net.api import Route
from ...net.api_account import user_json
from ...net.api_support import after_hook, authenticate_bearer, before_hook, endpoint, ok
from ...net.http import Request, Response
from ...storage import DatabaseError
from ..rest_fields import query_strings, strings
from .core import NAME, UsersCore

__all__ = ["ROUTES"]


@endpoint
async def get_users(services: Any, request: Request) -> Response:
    claims = authenticate_bearer(services, request)
    payload = await before_hook(services, "GetUsers", request, query_strings(request, "ids", "usernames", "facebook_ids"), claims)
    ids, usernames = strings(payload, "ids"), strings(payload, "usernames")
    strings(payload, "facebook_ids")
    body: dict[str, Any] = {}
    if ids or usernames:
        for text in ids:
            if not valid_ids([text]):
                raise ApiError(Code.INVALID_ARGUMENT, f"ID '{text}' is not a valid system ID.")
        core: UsersCore = services.features[NAME]
        try:
            found = await core.get(ids, usernames)
        except DatabaseError:
            raise ApiError(Code.INTERNAL, "Error retrieving user accounts.") from None
        if found:
            body["users"] = [user_json(p.account, p.online) for p in found]
    await after_hook(services, "GetUsers", request, body, payload, claims)
    return ok(body)


ROUTES = [Route(("GET",), "/v2/user", get_users)]
