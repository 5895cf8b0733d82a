"""REST: authenticate by device, custom id or email; refresh a session; log out.

Nakama's api_authenticate.go and api_session.go, same validation order, codes and texts.
Each handler: check credentials, read the request into its proto-JSON dict, run the before hook
(which may replace or reject it), validate, call the account core, issue tokens, run the after
hook, answer. ``ROUTES`` lists every route of this module and of ``api_account``.

Services used: ``config`` (socket.server_key), ``store`` (a Store), ``tokens`` (a TokenService),
``runtime`` (None or the Lua runtime, for hooks) and optionally ``bcrypt_cost`` (default 10).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from host import accounts
from host.net import api_account
from host.net.api_support import (
    after_hook,
    authenticate_bearer,
    before_hook,
    bool_query,
    endpoint,
    json_object,
    map_field,
    object_field,
    ok,
    require_server_key,
    str_field,
)
from host.net.http import Handler, Request, Response
from host.net.tokens import IssuedSession
from host.errors import Code, ApiError

__all__ = [
    "ROUTES",
    "authenticate_device",
    "authenticate_custom",
    "authenticate_email",
    "session_refresh",
    "session_logout",
    "authenticate_bearer",
    "session_json",
]

_EMAIL = re.compile(r".+@.+\..+")


# Validation (Nakama's invalidCharsRegex / invalidUsernameRegex / emailRegex) ------------


def _has_space_or_control(text: str) -> bool:
    """[[:cntrl:]] or [[:space:]] (the ASCII space; the others are controls)."""
    return any(c <= " " or c == "\x7f" for c in text)


def _size(text: str) -> int:
    return len(text.encode())  # Go's len(): bytes, not characters


def _bad(message: str) -> ApiError:
    return ApiError(Code.INVALID_ARGUMENT, message)


@dataclass(slots=True, frozen=True)
class _IdRule:
    """How one identifier kind is checked, e.g. Device ID, 10-128 bytes."""

    label: str
    min_size: int
    max_size: int

    def check(self, value: str) -> None:
        if not value:
            raise _bad(f"{self.label} is required.")
        if _has_space_or_control(value):
            raise _bad(f"{self.label} invalid, no spaces or control characters allowed.")
        if not self.min_size <= _size(value) <= self.max_size:
            raise _bad(f"{self.label} invalid, must be {self.min_size}-{self.max_size} bytes.")


_DEVICE = _IdRule("Device ID", 10, 128)
_CUSTOM = _IdRule("Custom ID", 6, 128)


def _check_username(username: str) -> str:
    """The username to use: the given one if valid, a random one when empty."""
    if not username:
        return accounts.generate_username()
    accounts.check_username(username)
    return username


def _check_email(email: str) -> None:
    if _has_space_or_control(email):
        raise _bad("Invalid email address, no spaces or control characters allowed.")
    if not _EMAIL.fullmatch(email):
        raise _bad("Invalid email address format.")
    if not 10 <= _size(email) <= 255:
        raise _bad("Invalid email address, must be 10-255 bytes.")


# Request reading -----------------------------------------------------------------------


def _authenticate_request(request: Request, account_fields: tuple[str, ...]) -> dict[str, Any]:
    """An Authenticate*Request as proto JSON: the body is ``account``; ``create``/``username`` are query.

    An empty body leaves ``account`` unset (grpc-gateway decodes nothing into the pointer).
    """
    payload: dict[str, Any] = {}
    if request.body.strip():
        body = json_object(request)
        account: dict[str, Any] = {}
        for name in account_fields:
            value = str_field(body, name)
            if value:
                account[name] = value
        vars = map_field(body, "vars")
        if vars:
            account["vars"] = vars
        payload["account"] = account
    create = bool_query(request, "create")
    if create is not None:
        payload["create"] = create
    username = request.query_one("username") or ""
    if username:
        payload["username"] = username
    return payload


@dataclass(slots=True)
class _AuthInput:
    account: dict[str, Any] | None
    create: bool
    username: str
    vars: dict[str, str]


def _read_auth_input(payload: dict[str, Any]) -> _AuthInput:
    """The fields of a (possibly hook-replaced) Authenticate*Request, type-checked."""
    account = object_field(payload, "account")
    create = payload.get("create")
    if create is None:
        create = True  # Nakama: in.Create == nil || in.Create.Value
    elif not isinstance(create, bool):
        raise _bad("Invalid value for bool field create.")
    vars = (map_field(account, "vars") if account is not None else None) or {}
    return _AuthInput(account, create, str_field(payload, "username"), vars)


def session_json(session: IssuedSession, created: bool) -> dict[str, Any]:
    """api.Session; ``created`` is omitted when false (protojson omits zero values)."""
    out: dict[str, Any] = {"created": True} if created else {}
    out["token"] = session.token
    out["refresh_token"] = session.refresh_token
    return out


async def _answer_auth(
    services: Any, request: Request, hook: str, payload: dict[str, Any], result: accounts.AuthResult, vars: dict[str, str]
) -> Response:
    issued = services.tokens.issue(result.user_id, result.username, vars)
    body = session_json(issued, result.created)
    await after_hook(services, hook, request, body, payload, issued.claims)
    return ok(body)


# Handlers ------------------------------------------------------------------------------


def _id_authenticator(hook: str, rule: _IdRule, authenticate: Callable[..., Awaitable[accounts.AuthResult]]) -> Handler:
    """The device and custom endpoints: one ``id`` field, checked by ``rule``, then ``authenticate``."""

    @endpoint
    async def handler(services: Any, request: Request) -> Response:
        require_server_key(services, request)
        payload = await before_hook(services, hook, request, _authenticate_request(request, ("id",)))
        data = _read_auth_input(payload)
        account_id = str_field(data.account, "id") if data.account is not None else ""
        rule.check(account_id)
        username = _check_username(data.username)
        result = await authenticate(services.store, account_id, username, data.create)
        return await _answer_auth(services, request, hook, payload, result, data.vars)

    return handler


authenticate_device = _id_authenticator("AuthenticateDevice", _DEVICE, accounts.authenticate_device)
authenticate_device.__doc__ = "POST /v2/account/authenticate/device"
authenticate_custom = _id_authenticator("AuthenticateCustom", _CUSTOM, accounts.authenticate_custom)
authenticate_custom.__doc__ = "POST /v2/account/authenticate/custom"


@endpoint
async def authenticate_email(services: Any, request: Request) -> Response:
    """POST /v2/account/authenticate/email; an empty email with ``username`` is a username login."""
    require_server_key(services, request)
    payload = await before_hook(
        services, "AuthenticateEmail", request, _authenticate_request(request, ("email", "password"))
    )
    data = _read_auth_input(payload)
    if data.account is None:
        raise _bad("Email address and password is required.")
    email = str_field(data.account, "email")
    password = str_field(data.account, "password")
    username_login = not email
    if not username_login:
        _check_email(email)
    if _size(password) < 8:
        raise _bad("Password must be at least 8 characters long.")
    if not data.username and username_login:
        raise _bad("Username is required when email address is not supplied.")
    username = _check_username(data.username)

    if username_login:
        # Creation is impossible here, so ``create`` is ignored.
        result = await accounts.authenticate_username(services.store, username, password)
    else:
        cost = getattr(services, "bcrypt_cost", accounts.DEFAULT_BCRYPT_COST)
        result = await accounts.authenticate_email(
            services.store, email.lower(), password, username, data.create, bcrypt_cost=cost
        )
    return await _answer_auth(services, request, "AuthenticateEmail", payload, result, data.vars)


@endpoint
async def session_refresh(services: Any, request: Request) -> Response:
    """POST /v2/account/session/refresh: same ``tid`` and ``iat``, new expiries.

    Vars come from the request when it has a ``vars`` field (even empty), else from the token.
    """
    require_server_key(services, request)
    body = json_object(request)
    payload: dict[str, Any] = {}
    token = str_field(body, "token")
    if token:
        payload["token"] = token
    vars = map_field(body, "vars")
    if vars is not None:
        payload["vars"] = vars
    payload = await before_hook(services, "SessionRefresh", request, payload)

    token = str_field(payload, "token")
    if not token:
        raise _bad("Refresh token is required.")
    claims = services.tokens.parse_refresh(token)
    if claims is None:
        raise ApiError(Code.UNAUTHENTICATED, "Refresh token invalid or expired.")
    account = await accounts.account_for_refresh(services.store, claims.user_id)
    vars = map_field(payload, "vars")
    use_vars = claims.vars if vars is None else vars
    issued = services.tokens.issue(
        account.id, account.username, use_vars, token_id=claims.token_id, issued_at=claims.iat
    )
    out = session_json(issued, False)
    await after_hook(services, "SessionRefresh", request, out, payload, issued.claims)
    return ok(out)


@endpoint
async def session_logout(services: Any, request: Request) -> Response:
    """POST /v2/session/logout (Bearer): invalidate the given tokens, or all of the user's."""
    claims = authenticate_bearer(services, request)
    body = json_object(request)
    payload = {name: value for name in ("token", "refresh_token") if (value := str_field(body, name))}
    payload = await before_hook(services, "SessionLogout", request, payload, claims)

    tokens = services.tokens
    session = refresh = None
    token = str_field(payload, "token")
    if token:
        session = tokens.verify_session(token)
        if session is None or session.user_id != claims.user_id:
            raise _bad("Session token invalid.")
    refresh_token = str_field(payload, "refresh_token")
    if refresh_token:
        refresh = tokens.verify_refresh(refresh_token)
        if refresh is None or refresh.user_id != claims.user_id:
            raise _bad("Refresh token invalid.")
    tokens.invalidate(claims.user_id, session, refresh)
    await after_hook(services, "SessionLogout", request, {}, payload, claims)
    return ok({})


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/v2/account/authenticate/device"): authenticate_device,
    ("POST", "/v2/account/authenticate/custom"): authenticate_custom,
    ("POST", "/v2/account/authenticate/email"): authenticate_email,
    ("POST", "/v2/account/session/refresh"): session_refresh,
    ("POST", "/v2/session/logout"): session_logout,
    ("GET", "/v2/account"): api_account.get_account,
}
