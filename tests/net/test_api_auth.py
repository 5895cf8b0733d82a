"""REST account handlers called directly: every validation rule, code and message of Nakama's
api_authenticate.go / api_session.go / api_account.go, tokens as nakama-js decodes them, hooks."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from host.config import Config
from host.net import api_support
from host.net.api_auth import ROUTES, authenticate_bearer
from host.net.http import Request, Response
from host.net.tokens import TokenService, encode_jwt
from host.runtime.errors import RpcError
from host.errors import ApiError
from host.accounts.store import AccountStore
from host.app import schemas
from host.storage.migrate import migrate
from host.storage.sqlite import SqliteDatabase

T0 = 1_700_000_000
BASIC = "Basic " + base64.b64encode(b"defaultkey:").decode()


class Clock:
    def __init__(self) -> None:
        self.t = float(T0)

    def __call__(self) -> float:
        return self.t


@dataclass
class Services:
    """The attributes the handlers use; the real bundle lives in host/app.py."""

    config: Config
    store: AccountStore
    tokens: TokenService
    clock: Clock
    runtime: Any = None
    bcrypt_cost: int = 4  # fast hashes in tests; real servers use 10


@pytest.fixture
async def services(tmp_path: Path) -> Services:
    clock = Clock()
    config = Config(data_dir=str(tmp_path))
    db = SqliteDatabase(tmp_path / "nkhost.db")
    await db.open()
    await migrate(db, schemas())
    yield Services(config, AccountStore(db, clock=clock), TokenService.from_config(config, clock=clock), clock)
    await db.close()


def request(
    method: str, path: str, body: Any = None, query: dict[str, str] | None = None, auth: str | None = BASIC
) -> Request:
    raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
    headers = {"authorization": auth} if auth is not None else {}
    return Request(method, path, {k: [v] for k, v in (query or {}).items()}, headers, raw, "127.0.0.1", 50000)


async def call(services: Services, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, dict]:
    response: Response = await ROUTES[(method, path)](services, request(method, path, body, **kw))
    assert response.content_type == "application/json"
    return response.status, json.loads(response.body)


async def device(services: Services, device_id: str = "device-000001", **kw: Any) -> tuple[int, dict]:
    return await call(services, "POST", "/v2/account/authenticate/device", {"id": device_id}, **kw)


async def custom(services: Services, custom_id: str = "custom-01", **kw: Any) -> tuple[int, dict]:
    return await call(services, "POST", "/v2/account/authenticate/custom", {"id": custom_id}, **kw)


async def email(services: Services, body: Any, **kw: Any) -> tuple[int, dict]:
    return await call(services, "POST", "/v2/account/authenticate/email", body, **kw)


async def refresh(services: Services, body: Any, **kw: Any) -> tuple[int, dict]:
    return await call(services, "POST", "/v2/account/session/refresh", body, **kw)


async def account(services: Services, token: str) -> tuple[int, dict]:
    return await call(services, "GET", "/v2/account", auth=f"Bearer {token}")


async def logout(services: Services, token: str, body: Any = None) -> tuple[int, dict]:
    return await call(services, "POST", "/v2/session/logout", body, auth=f"Bearer {token}")


def claims_of(token: str) -> dict:
    """nakama-js: JSON.parse(base64.atob(token.split('.')[1]))."""
    middle = token.split(".")[1]
    return json.loads(base64.b64decode(middle + "=" * (-len(middle) % 4)))


def err(status: int, code: int, message: str) -> tuple[int, dict]:
    return status, {"code": code, "message": message}


# Server key --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [p for (m, p) in ROUTES if p.startswith("/v2/account/") and m == "POST"])
async def test_server_key_required_and_checked(services: Services, path: str) -> None:
    assert await call(services, "POST", path, {}, auth=None) == err(401, 16, "Server key required")
    for bad in ["Basic " + base64.b64encode(b"wrongkey:").decode(), "Basic !!!", "Bearer x", "", "Basic " + base64.b64encode(b"defaultkey").decode()]:
        assert await call(services, "POST", path, {}, auth=bad) == err(401, 16, "Server key invalid")


async def test_server_key_password_part_ignored(services: Services) -> None:
    status, body = await device(services, auth="Basic " + base64.b64encode(b"defaultkey:whatever").decode())
    assert status == 200 and body["created"] is True


# Device / custom ---------------------------------------------------------------------------


async def test_device_create_then_login(services: Services) -> None:
    status, first = await device(services)
    assert status == 200 and list(first) == ["created", "token", "refresh_token"] and first["created"] is True
    status, again = await device(services)
    assert status == 200 and "created" not in again  # omitted when false
    a, b = claims_of(first["token"]), claims_of(again["token"])
    assert a["uid"] == b["uid"] and a["usn"] == b["usn"] and a["tid"] != b["tid"]
    assert len(a["usn"]) == 10 and a["usn"].isalpha() and a["usn"].isascii()
    assert a["exp"] == T0 + 60 and a["iat"] == T0 and "vrs" not in a
    r = claims_of(first["refresh_token"])
    assert r["tid"] == a["tid"] and r["exp"] == T0 + 3600 and r["uid"] == a["uid"]


@pytest.mark.parametrize(
    "body, message",
    [
        (None, "Device ID is required."),
        ({}, "Device ID is required."),
        ({"id": ""}, "Device ID is required."),
        ({"id": None}, "Device ID is required."),
        ({"id": "has space-in-it"}, "Device ID invalid, no spaces or control characters allowed."),
        ({"id": "tab\there-id"}, "Device ID invalid, no spaces or control characters allowed."),
        ({"id": "del\x7fhere-id"}, "Device ID invalid, no spaces or control characters allowed."),
        ({"id": "123456789"}, "Device ID invalid, must be 10-128 bytes."),
        ({"id": "x" * 129}, "Device ID invalid, must be 10-128 bytes."),
        ({"id": "é" * 65}, "Device ID invalid, must be 10-128 bytes."),  # 130 bytes, 65 characters
    ],
)
async def test_device_validation(services: Services, body: Any, message: str) -> None:
    assert await call(services, "POST", "/v2/account/authenticate/device", body) == err(400, 3, message)


@pytest.mark.parametrize("device_id", ["1234567890", "x" * 128, "é" * 64, "ünïcode\u00a0nbsp"])
async def test_device_id_accepted(services: Services, device_id: str) -> None:
    assert (await device(services, device_id))[0] == 200


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "Custom ID is required."),
        ({"id": "a b c d e"}, "Custom ID invalid, no spaces or control characters allowed."),
        ({"id": "12345"}, "Custom ID invalid, must be 6-128 bytes."),
        ({"id": "c" * 129}, "Custom ID invalid, must be 6-128 bytes."),
    ],
)
async def test_custom_validation(services: Services, body: Any, message: str) -> None:
    assert await call(services, "POST", "/v2/account/authenticate/custom", body) == err(400, 3, message)


async def test_custom_create_then_login(services: Services) -> None:
    status, first = await custom(services, "123456")
    assert status == 200 and first["created"] is True
    status, again = await custom(services, "123456")
    assert status == 200 and "created" not in again
    assert claims_of(first["token"])["uid"] == claims_of(again["token"])["uid"]


async def test_create_false(services: Services) -> None:
    for value in ("false", "0", "f", "False"):
        assert await device(services, query={"create": value}) == err(404, 5, "User account not found.")
        assert await custom(services, query={"create": value}) == err(404, 5, "User account not found.")
    await device(services)
    status, body = await device(services, query={"create": "false"})
    assert status == 200 and "created" not in body


async def test_create_query_must_be_bool(services: Services) -> None:
    status, body = await device(services, query={"create": "yes"})
    assert status == 400 and body["code"] == 3


async def test_username_query(services: Services) -> None:
    status, body = await device(services, query={"username": "Alice Smith"})  # spaces allowed in usernames
    assert status == 200 and claims_of(body["token"])["usn"] == "Alice Smith"
    # An existing account keeps its username whatever the query says.
    status, body = await device(services, query={"username": "someone-else"})
    assert status == 200 and claims_of(body["token"])["usn"] == "Alice Smith"


@pytest.mark.parametrize(
    "username, message",
    [
        ("bad\nname", "Username invalid, no spaces or control characters allowed."),
        ("bad\x00name", "Username invalid, no spaces or control characters allowed."),
        ("u" * 129, "Username invalid, must be 1-128 bytes."),
    ],
)
async def test_username_validation(services: Services, username: str, message: str) -> None:
    assert await device(services, query={"username": username}) == err(400, 3, message)
    assert await custom(services, query={"username": username}) == err(400, 3, message)


async def test_username_taken(services: Services) -> None:
    assert (await device(services, "device-000001", query={"username": "alice"}))[0] == 200
    assert await device(services, "device-000002", query={"username": "alice"}) == err(
        409, 6, "Username is already in use."
    )
    assert await custom(services, query={"username": "alice"}) == err(409, 6, "Username is already in use.")


async def test_banned(services: Services) -> None:
    _, body = await device(services)
    await services.store.set_disable_time(claims_of(body["token"])["uid"], T0)
    assert await device(services) == err(403, 7, "User account banned.")
    assert await refresh(services, {"token": body["refresh_token"]}) == err(403, 7, "User account banned.")


async def test_vars_go_into_token(services: Services) -> None:
    status, body = await call(
        services, "POST", "/v2/account/authenticate/device", {"id": "device-000001", "vars": {"k": "v", "x": "?~>"}}
    )
    assert status == 200 and claims_of(body["token"])["vrs"] == {"k": "v", "x": "?~>"}


# Lenient but typed JSON --------------------------------------------------------------------


async def test_unknown_fields_ignored(services: Services) -> None:
    status, _ = await call(
        services, "POST", "/v2/account/authenticate/device", {"id": "device-000001", "surprise": [1, 2], "vars": None}
    )
    assert status == 200


@pytest.mark.parametrize(
    "raw",
    [b"{", b"not json", b"[1,2]", b'"a string"', b'{"id": 12345678901}', b'{"id": ["x"]}', b'{"id": "device-000001", "vars": {"a": 1}}', b'{"id": "device-000001", "vars": "x"}'],
)
async def test_bad_body_is_400(services: Services, raw: bytes) -> None:
    status, body = await call(services, "POST", "/v2/account/authenticate/device", raw)
    assert status == 400 and body["code"] == 3 and body["message"]


# Email -------------------------------------------------------------------------------------


async def test_email_create_login_and_wrong_password(services: Services) -> None:
    status, first = await email(services, {"email": "Alice@Example.COM", "password": "password1"})
    assert status == 200 and first["created"] is True
    status, again = await email(services, {"email": "alice@example.com", "password": "password1"})
    assert status == 200 and "created" not in again
    assert claims_of(first["token"])["uid"] == claims_of(again["token"])["uid"]
    assert await email(services, {"email": "alice@example.com", "password": "password2"}) == err(
        401, 16, "Invalid credentials."
    )
    _, acc = await account(services, again["token"])
    assert acc["email"] == "alice@example.com"


async def test_email_create_false(services: Services) -> None:
    assert await email(services, {"email": "alice@example.com", "password": "password1"}, query={"create": "false"}) == err(
        404, 5, "User account not found."
    )


@pytest.mark.parametrize(
    "body, message",
    [
        (None, "Email address and password is required."),
        ({"email": "a b@example.com", "password": "password1"}, "Invalid email address, no spaces or control characters allowed."),
        ({"email": "nobody.example.com", "password": "password1"}, "Invalid email address format."),
        ({"email": "a@b.c", "password": "password1"}, "Invalid email address, must be 10-255 bytes."),
        ({"email": "a@example." + "c" * 250, "password": "password1"}, "Invalid email address, must be 10-255 bytes."),
        ({"email": "alice@example.com", "password": "short"}, "Password must be at least 8 characters long."),
        ({"email": "alice@example.com"}, "Password must be at least 8 characters long."),
        ({}, "Password must be at least 8 characters long."),
        ({"password": "password1"}, "Username is required when email address is not supplied."),
    ],
)
async def test_email_validation(services: Services, body: Any, message: str) -> None:
    assert await email(services, body) == err(400, 3, message)


async def test_username_password_login(services: Services) -> None:
    await email(services, {"email": "alice@example.com", "password": "password1"}, query={"username": "alice"})
    status, body = await email(services, {"password": "password1"}, query={"username": "alice", "create": "false"})
    assert status == 200 and "created" not in body and claims_of(body["token"])["usn"] == "alice"
    assert await email(services, {"password": "password2"}, query={"username": "alice"}) == err(
        401, 16, "Invalid credentials."
    )
    assert await email(services, {"password": "password1"}, query={"username": "nobody"}) == err(
        404, 5, "User account not found."
    )


async def test_username_login_without_password_on_account(services: Services) -> None:
    await device(services, query={"username": "devuser"})
    assert await email(services, {"password": "password1"}, query={"username": "devuser"}) == err(
        401, 16, "Invalid credentials."
    )


async def test_password_hash_is_bcrypt_2a(services: Services) -> None:
    await email(services, {"email": "alice@example.com", "password": "password1"})
    acc = await services.store.account_by_email("alice@example.com")
    assert acc.password_hash.startswith(b"$2a$04$")


# Refresh -----------------------------------------------------------------------------------


async def test_refresh_keeps_tid_iat_and_vars(services: Services) -> None:
    _, first = await call(services, "POST", "/v2/account/authenticate/device", {"id": "device-000001", "vars": {"a": "1"}})
    services.clock.t = T0 + 100
    status, body = await refresh(services, {"token": first["refresh_token"]})
    assert status == 200 and list(body) == ["token", "refresh_token"]
    old, new = claims_of(first["token"]), claims_of(body["token"])
    assert new["tid"] == old["tid"] and new["iat"] == T0 and new["exp"] == T0 + 160 and new["vrs"] == {"a": "1"}
    r = claims_of(body["refresh_token"])
    assert r["tid"] == old["tid"] and r["iat"] == T0 and r["exp"] == T0 + 3700
    # The new session token works.
    assert (await account(services, body["token"]))[0] == 200


async def test_refresh_vars_from_request(services: Services) -> None:
    _, first = await call(services, "POST", "/v2/account/authenticate/device", {"id": "device-000001", "vars": {"a": "1"}})
    _, body = await refresh(services, {"token": first["refresh_token"], "vars": {"b": "2"}})
    assert claims_of(body["token"])["vrs"] == {"b": "2"}
    _, body = await refresh(services, {"token": first["refresh_token"], "vars": {}})
    assert "vrs" not in claims_of(body["token"])  # an empty map given replaces the token's vars


async def test_refresh_errors(services: Services) -> None:
    _, first = await device(services)
    assert await refresh(services, {}) == err(400, 3, "Refresh token is required.")
    assert await refresh(services, None) == err(400, 3, "Refresh token is required.")
    invalid = err(401, 16, "Refresh token invalid or expired.")
    assert await refresh(services, {"token": "garbage"}) == invalid
    assert await refresh(services, {"token": first["token"]}) == invalid  # a session token is not a refresh token
    services.clock.t = T0 + 3600
    assert await refresh(services, {"token": first["refresh_token"]}) == invalid
    orphan = encode_jwt(
        {"tid": "t", "uid": "00000000-0000-4000-8000-000000000000", "usn": "x", "exp": T0 + 9999},
        services.config.session.refresh_encryption_key,
    )
    assert await refresh(services, {"token": orphan}) == err(404, 5, "User account not found.")


# Logout ------------------------------------------------------------------------------------


async def test_logout_then_refresh_fails(services: Services) -> None:
    _, a = await device(services)
    _, b = await device(services)  # a second session of the same user
    assert await logout(services, a["token"], {"token": a["token"], "refresh_token": a["refresh_token"]}) == (200, {})
    assert await refresh(services, {"token": a["refresh_token"]}) == err(401, 16, "Refresh token invalid or expired.")
    assert await account(services, a["token"]) == err(401, 16, "Auth token invalid")
    assert (await account(services, b["token"]))[0] == 200
    assert (await refresh(services, {"token": b["refresh_token"]}))[0] == 200


async def test_logout_camel_case_field(services: Services) -> None:
    _, a = await device(services)
    assert await logout(services, a["token"], {"refreshToken": a["refresh_token"]}) == (200, {})
    assert (await refresh(services, {"token": a["refresh_token"]}))[0] == 401


async def test_logout_without_tokens_logs_out_everything(services: Services) -> None:
    _, a = await device(services)
    _, b = await device(services)
    services.clock.t = T0 + 1
    assert await logout(services, a["token"]) == (200, {})
    for s in (a, b):
        assert (await account(services, s["token"]))[0] == 401
        assert (await refresh(services, {"token": s["refresh_token"]}))[0] == 401


async def test_logout_errors(services: Services) -> None:
    _, a = await device(services, "device-000001")
    _, other = await device(services, "device-000002")
    assert await call(services, "POST", "/v2/session/logout", {}, auth=None) == err(401, 16, "Auth token required")
    assert await call(services, "POST", "/v2/session/logout", {}, auth=BASIC) == err(401, 16, "Auth token invalid")
    assert await logout(services, "nope") == err(401, 16, "Auth token invalid")
    assert await logout(services, a["token"], {"token": other["token"]}) == err(400, 3, "Session token invalid.")
    assert await logout(services, a["token"], {"token": "junk"}) == err(400, 3, "Session token invalid.")
    assert await logout(services, a["token"], {"refresh_token": a["token"]}) == err(400, 3, "Refresh token invalid.")
    assert await logout(services, a["token"], {"refresh_token": other["refresh_token"]}) == err(
        400, 3, "Refresh token invalid."
    )


# Account -----------------------------------------------------------------------------------


async def test_account_shape_device(services: Services) -> None:
    _, s = await device(services, query={"username": "alice"})
    status, body = await account(services, s["token"])
    uid = claims_of(s["token"])["uid"]
    assert status == 200
    assert body == {
        "user": {
            "id": uid,
            "username": "alice",
            "lang_tag": "en",
            "metadata": "{}",
            "create_time": "2023-11-14T22:13:20Z",
            "update_time": "2023-11-14T22:13:20Z",
        },
        "wallet": "{}",
        "devices": [{"id": "device-000001"}],
    }
    assert list(body) == ["user", "wallet", "devices"]


async def test_account_shape_email_and_custom(services: Services) -> None:
    _, s = await email(services, {"email": "alice@example.com", "password": "password1"})
    _, body = await account(services, s["token"])
    assert body["email"] == "alice@example.com" and "devices" not in body and "custom_id" not in body
    _, s = await custom(services, "custom-01")
    _, body = await account(services, s["token"])
    assert body["custom_id"] == "custom-01" and "email" not in body


async def test_account_hides_disable_time(services: Services) -> None:
    _, s = await device(services)
    await services.store.set_disable_time(claims_of(s["token"])["uid"], T0 + 5)
    status, body = await account(services, s["token"])
    assert status == 200 and "disable_time" not in body


async def test_account_auth_errors(services: Services) -> None:
    assert await call(services, "GET", "/v2/account", auth=None) == err(401, 16, "Auth token required")
    assert await call(services, "GET", "/v2/account", auth="bearer x") == err(401, 16, "Auth token invalid")
    _, s = await device(services)
    services.clock.t = T0 + 60
    assert await account(services, s["token"]) == err(401, 16, "Auth token invalid")


async def test_authenticate_bearer_helper(services: Services) -> None:
    _, s = await device(services)
    claims = authenticate_bearer(services, request("POST", "/v2/rpc/x", auth=f"Bearer {s['token']}"))
    assert claims.user_id == claims_of(s["token"])["uid"]
    with pytest.raises(ApiError) as info:
        authenticate_bearer(services, request("POST", "/v2/rpc/x", auth="Bearer bad"))
    assert (info.value.code, info.value.message) == (16, "Auth token invalid")


# Runtime hooks -----------------------------------------------------------------------------


@dataclass
class FakeRuntime:
    before: dict[str, Any] = field(default_factory=dict)  # name -> callable(ctx, payload)
    after: dict[str, Any] = field(default_factory=dict)
    calls: list[tuple[str, str, Any, Any]] = field(default_factory=list)

    def has_hook(self, kind: str, name: str) -> bool:
        return name in (self.before if kind == "req_before" else self.after)

    async def before_req(self, name: str, ctx: Any, payload: dict) -> dict | None:
        self.calls.append(("before", name, ctx, payload))
        return self.before[name](ctx, payload)

    async def after_req(self, name: str, ctx: Any, response: dict, payload: Any) -> None:
        self.calls.append(("after", name, ctx, (response, payload)))
        self.after[name](ctx, response)


@pytest.fixture
def runtime(services: Services, monkeypatch: pytest.MonkeyPatch) -> FakeRuntime:
    try:
        from host.net.context import http_context  # noqa: F401
    except ImportError:  # the runtime package is written in parallel; stand in for its context
        monkeypatch.setattr(
            api_support,
            "_call_context",
            lambda request, mode, claims: SimpleNamespace(
                execution_mode=mode,
                user_id=claims.user_id if claims else "",
                username=claims.username if claims else "",
                client_ip=request.client_ip,
            ),
        )
    services.runtime = FakeRuntime()
    return services.runtime


async def test_before_hook_replaces_request(services: Services, runtime: FakeRuntime) -> None:
    def rename(ctx: Any, payload: dict) -> dict:
        assert ctx.execution_mode == "before" and ctx.user_id == ""
        return {**payload, "username": "renamed"}

    runtime.before["AuthenticateDevice"] = rename
    status, body = await device(services, query={"username": "original", "create": "true"})
    assert status == 200 and claims_of(body["token"])["usn"] == "renamed"
    assert runtime.calls[0][3] == {"account": {"id": "device-000001"}, "create": True, "username": "original"}


async def test_before_hook_nil_rejects(services: Services, runtime: FakeRuntime) -> None:
    runtime.before["AuthenticateCustom"] = lambda ctx, payload: None
    assert await custom(services) == err(404, 5, "Requested resource was not found.")


async def test_before_hook_error_code(services: Services, runtime: FakeRuntime) -> None:
    def deny(ctx: Any, payload: dict) -> dict:
        raise RpcError("nope", 7)

    runtime.before["AuthenticateEmail"] = deny
    assert await email(services, {"email": "alice@example.com", "password": "password1"}) == err(403, 7, "nope")


async def test_hook_validation_runs_after_before_hook(services: Services, runtime: FakeRuntime) -> None:
    runtime.before["AuthenticateDevice"] = lambda ctx, payload: {"account": {"id": "short"}}
    assert await device(services) == err(400, 3, "Device ID invalid, must be 10-128 bytes.")


async def test_after_hook_sees_session_and_errors_are_ignored(services: Services, runtime: FakeRuntime) -> None:
    seen = []

    def after(ctx: Any, response: dict) -> None:
        seen.append((ctx.execution_mode, ctx.user_id, response))
        raise RpcError("ignored")

    runtime.after["AuthenticateDevice"] = after
    status, body = await device(services)
    assert status == 200
    assert seen == [("after", claims_of(body["token"])["uid"], body)]


async def test_get_account_before_nil_does_not_reject(services: Services, runtime: FakeRuntime) -> None:
    _, s = await device(services)
    runtime.before["GetAccount"] = lambda ctx, payload: None
    assert (await account(services, s["token"]))[0] == 200
    assert runtime.calls[-1][2].user_id == claims_of(s["token"])["uid"]


async def test_logout_and_refresh_hooks(services: Services, runtime: FakeRuntime) -> None:
    _, s = await device(services)
    runtime.before["SessionRefresh"] = lambda ctx, payload: None
    assert await refresh(services, {"token": s["refresh_token"]}) == err(404, 5, "Requested resource was not found.")
    runtime.before["SessionLogout"] = lambda ctx, payload: {}  # drop the tokens: log out everything
    services.clock.t = T0 + 1
    assert await logout(services, s["token"], {"token": s["token"]}) == (200, {})
    assert runtime.calls[-1][2].user_id == claims_of(s["token"])["uid"]
    assert (await account(services, s["token"]))[0] == 401


async def test_concurrent_first_logins_share_one_account(services: Services) -> None:
    """Two racing creates of one device: the loser gets the winner's account, not an error."""
    import asyncio

    results = await asyncio.gather(*(device(services) for _ in range(4)))
    assert all(status == 200 for status, _ in results)
    assert sum(1 for _, body in results if body.get("created")) == 1
    assert len({claims_of(body["token"])["uid"] for _, body in results}) == 1
