"""REST: ``GET /v2/account``, and the api.Account JSON shape.

Shape rules (protojson with UseProtoNames, as grpc-gateway writes Nakama's messages): fields in
proto order, empty strings / false / 0 / empty lists omitted, timestamps as RFC 3339 UTC with
whole seconds (Nakama builds them from ``Unix()``), ``wallet`` and ``metadata`` as JSON text.
The user-facing call never shows ``disable_time``.
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import Any

from host.net.api_support import after_hook, authenticate_bearer, before_hook, endpoint, ok
from host.net.http import Request, Response
from host.errors import Code, ApiError
from host.accounts.store import Account

__all__ = ["get_account", "account_json", "user_json", "rfc3339"]


@functools.lru_cache(maxsize=4096)
def rfc3339(unix_seconds: int) -> str:
    """google.protobuf.Timestamp in JSON, for whole seconds: ``2024-05-01T12:00:00Z``. Cached:
    a listing of 1,000 users formats the same few seconds thousands of times."""
    return datetime.fromtimestamp(unix_seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _put(out: dict[str, Any], name: str, value: Any) -> None:
    if value:
        out[name] = value


def user_json(account: Account, online: bool = False) -> dict[str, Any]:
    """api.User."""
    user: dict[str, Any] = {"id": account.id}
    _put(user, "username", account.username)
    _put(user, "display_name", account.display_name)
    _put(user, "avatar_url", account.avatar_url)
    _put(user, "lang_tag", account.lang_tag)
    _put(user, "location", account.location)
    _put(user, "timezone", account.timezone)
    _put(user, "metadata", account.metadata)
    _put(user, "online", online)
    _put(user, "edge_count", account.edge_count)
    user["create_time"] = rfc3339(account.create_time)
    user["update_time"] = rfc3339(account.update_time)
    return user


def account_json(account: Account, online: bool = False) -> dict[str, Any]:
    """api.Account as the owner sees it (no disable_time)."""
    out: dict[str, Any] = {"user": user_json(account, online)}
    _put(out, "wallet", account.wallet)
    _put(out, "email", account.email)
    _put(out, "devices", [{"id": device} for device in account.devices])
    _put(out, "custom_id", account.custom_id)
    if account.verify_time:
        out["verify_time"] = rfc3339(account.verify_time)
    return out


@endpoint
async def get_account(services: Any, request: Request) -> Response:
    """GET /v2/account (Bearer). The before hook has no input to replace, so nil does not reject."""
    claims = authenticate_bearer(services, request)
    await before_hook(services, "GetAccount", request, {}, claims, replaceable=False)
    account = await services.store.get_account(claims.user_id)
    if account is None:
        raise ApiError(Code.NOT_FOUND, "Account not found.")
    body = account_json(account)
    await after_hook(services, "GetAccount", request, body, None, claims)
    return ok(body)
