"""Account core: find-or-create by device, custom id or email; username login; refresh lookup.

One core, many front doors (Nakama's core_authenticate.go): the REST handlers call these today,
``nk.authenticate_*`` can call them later. Input is already validated by the caller; these
functions raise ``ApiError`` with Nakama's exact codes and texts for what only the database
can tell (not found, banned, taken, wrong password).

bcrypt runs on a worker thread (``asyncio.to_thread``): a cost-10 hash takes ~50 ms of CPU, which
must not stall the event loop. Hashes use the ``$2a$`` prefix, as Go's bcrypt writes them, so
the rows stay portable to and from a Nakama database.
"""

from __future__ import annotations

import asyncio
import secrets
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import bcrypt

from host.errors import Code, ApiError
from host.storage import DatabaseError
from host.accounts.store import Account, AccountStore, IdentityInUse, UsernameInUse

__all__ = [
    "DEFAULT_BCRYPT_COST",
    "AuthResult",
    "authenticate_device",
    "authenticate_custom",
    "authenticate_email",
    "authenticate_username",
    "account_for_refresh",
    "generate_username",
    "check_username",
    "hash_password",
    "check_password",
]

DEFAULT_BCRYPT_COST = 10  # Go's bcrypt.DefaultCost, which Nakama uses
_BCRYPT_MAX = 72  # bcrypt reads only this many bytes of a password
_USERNAME_MAX = 128  # bytes
_USERNAME_ALPHABET = string.ascii_lowercase + string.ascii_uppercase

_NOT_FOUND = "User account not found."
_BANNED = "User account banned."
_CREATE_FAILED = "Error finding or creating user account."
_BAD_CREDENTIALS = "Invalid credentials."


@dataclass(slots=True, frozen=True)
class AuthResult:
    user_id: str
    username: str
    created: bool


def check_username(username: str) -> None:
    """Nakama's rules for a username someone chose (invalidUsernameRegex: no control
    characters; at most 128 bytes), with its texts (code 3)."""
    if any(c < " " or c == "\x7f" for c in username):
        raise ApiError(Code.INVALID_ARGUMENT, "Username invalid, no spaces or control characters allowed.")
    if len(username.encode()) > _USERNAME_MAX:
        raise ApiError(Code.INVALID_ARGUMENT, "Username invalid, must be 1-128 bytes.")


def generate_username() -> str:
    """Ten random ASCII letters, as Nakama's generateUsername."""
    return "".join(secrets.choice(_USERNAME_ALPHABET) for _ in range(10))


async def hash_password(password: str, cost: int = DEFAULT_BCRYPT_COST) -> bytes:
    """A ``$2a$`` bcrypt hash. Over 72 bytes fails, as Go's GenerateFromPassword does."""
    data = password.encode()
    if len(data) > _BCRYPT_MAX:
        raise ApiError(Code.INTERNAL, _CREATE_FAILED)
    return await asyncio.to_thread(lambda: bcrypt.hashpw(data, bcrypt.gensalt(cost, prefix=b"2a")))


async def check_password(password_hash: bytes, password: str) -> bool:
    """Go's CompareHashAndPassword: only the first 72 bytes count; a missing hash never matches."""
    if not password_hash:
        return False
    data = password.encode()[:_BCRYPT_MAX]

    def check() -> bool:
        try:
            return bcrypt.checkpw(data, password_hash)
        except ValueError:  # not a bcrypt hash
            return False

    return await asyncio.to_thread(check)


def _ensure_enabled(account: Account) -> None:
    if account.disabled:
        raise ApiError(Code.PERMISSION_DENIED, _BANNED)


async def _find_or_create(
    lookup: Callable[[], Awaitable[Account | None]],
    create_account: Callable[[], Awaitable[Account]],
    create: bool,
    check_existing: Callable[[Account], Awaitable[None]] | None = None,
) -> AuthResult:
    """The shape every Authenticate* shares: existing account (unless banned), else create.
    A database that cannot serve answers Nakama's 13 (the engine logged why)."""
    try:
        return await _find_or_create_in(lookup, create_account, create, check_existing)
    except DatabaseError:
        raise ApiError(Code.INTERNAL, _CREATE_FAILED) from None


async def _find_or_create_in(
    lookup: Callable[[], Awaitable[Account | None]],
    create_account: Callable[[], Awaitable[Account]],
    create: bool,
    check_existing: Callable[[Account], Awaitable[None]] | None,
) -> AuthResult:

    async def existing(account: Account) -> AuthResult:
        _ensure_enabled(account)
        if check_existing is not None:
            await check_existing(account)
        return AuthResult(account.id, account.username, False)

    account = await lookup()
    if account is not None:
        return await existing(account)
    if not create:
        raise ApiError(Code.NOT_FOUND, _NOT_FOUND)
    try:
        account = await create_account()
    except UsernameInUse:
        raise ApiError(Code.ALREADY_EXISTS, "Username is already in use.") from None
    except IdentityInUse:
        # A concurrent request linked the identity first. Nakama answers Internal here; the
        # winner's account is the right answer for this caller too.
        account = await lookup()
        if account is None:
            raise ApiError(Code.INTERNAL, _CREATE_FAILED) from None
        return await existing(account)
    return AuthResult(account.id, account.username, True)


async def authenticate_device(store: AccountStore, device_id: str, username: str, create: bool) -> AuthResult:
    return await _find_or_create(
        lambda: store.account_by_device(device_id),
        lambda: store.create_account(username, device_id=device_id),
        create,
    )


async def authenticate_custom(store: AccountStore, custom_id: str, username: str, create: bool) -> AuthResult:
    return await _find_or_create(
        lambda: store.account_by_custom_id(custom_id),
        lambda: store.create_account(username, custom_id=custom_id),
        create,
    )


async def authenticate_email(
    store: AccountStore, email: str, password: str, username: str, create: bool, bcrypt_cost: int = DEFAULT_BCRYPT_COST
) -> AuthResult:
    """``email`` must already be lowercased. A known email with a wrong password is 16."""

    async def password_matches(account: Account) -> None:
        if not await check_password(account.password_hash, password):
            raise ApiError(Code.UNAUTHENTICATED, _BAD_CREDENTIALS)

    async def create_account() -> Account:
        hashed = await hash_password(password, bcrypt_cost)
        return await store.create_account(username, email=email, password_hash=hashed)

    return await _find_or_create(lambda: store.account_by_email(email), create_account, create, password_matches)


async def authenticate_username(store: AccountStore, username: str, password: str) -> AuthResult:
    """Username + password login; never creates (Nakama's AuthenticateUsername)."""
    account = await store.account_by_username(username)
    if account is None:
        raise ApiError(Code.NOT_FOUND, _NOT_FOUND)
    _ensure_enabled(account)
    # No password at all and a wrong one read the same to the client, on purpose.
    if not await check_password(account.password_hash, password):
        raise ApiError(Code.UNAUTHENTICATED, _BAD_CREDENTIALS)
    return AuthResult(account.id, account.username, False)


async def account_for_refresh(store: AccountStore, user_id: str) -> Account:
    """The account a refresh token names, which must still exist and not be banned."""
    account = await store.get_account(user_id)
    if account is None:
        raise ApiError(Code.NOT_FOUND, _NOT_FOUND)
    _ensure_enabled(account)
    return account
