"""Session and refresh tokens: HS256 JWTs with Nakama's claims, and the invalidation cache.

Claims (``SessionTokenClaims`` in Nakama's api_authenticate.go, all omitempty):
``tid`` token id (UUID v4, shared by a session token and its refresh token), ``uid`` user id,
``usn`` username, ``vrs`` vars (string map), ``exp`` expiry and ``iat`` issue time (unix seconds).

The JWT is built with the standard library only (hmac, hashlib, base64). Parsing follows
golang-jwt v5 as Nakama calls it: HS256 only, ``exp`` required and in the future, ``nbf``
honoured when present, constant-time signature comparison, ``uid`` must be a UUID.

Why the payload JSON escapes ``< > & ? ~`` and all non-ASCII: nakama-js decodes the payload
with js-base64's ``atob``, which drops the base64url characters ``-`` and ``_`` instead of
mapping them. A payload byte sequence only produces those characters when a byte is >= 0x80 or
is one of ``> ? ~ DEL`` at certain offsets, so escaping them as ``\\uXXXX`` keeps the encoded
payload inside the common base64 alphabet and every client decodes it. JSON readers see the
same strings.

The invalidation cache (``SessionCache``) is Nakama's LocalSessionCache: a blacklist only.
A token is valid unless its token id was invalidated (logout) or the user has an
"invalidate everything issued before T" mark (ban, logout without tokens). It lives in memory
of this process: a restart forgets logouts, as a single Nakama node does. A cluster will need a
shared implementation of the same three methods.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SessionClaims", "IssuedSession", "TokenService", "SessionCache", "encode_jwt", "decode_jwt"]

_HEADER_B64 = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"  # {"alg":"HS256","typ":"JWT"}, as golang-jwt writes it
_ESCAPE = re.compile(r'[<>&?~\x7f]')


@dataclass(slots=True, frozen=True)
class SessionClaims:
    """The claims of a session or refresh token, parsed and type-checked."""

    token_id: str
    user_id: str
    username: str
    vars: dict[str, str] = field(default_factory=dict, hash=False)
    exp: int = 0
    iat: int = 0

    def to_json_dict(self) -> dict[str, Any]:
        """Claims in Nakama's order with its omitempty rules."""
        out: dict[str, Any] = {}
        if self.token_id:
            out["tid"] = self.token_id
        if self.user_id:
            out["uid"] = self.user_id
        if self.username:
            out["usn"] = self.username
        if self.vars:
            out["vrs"] = dict(sorted(self.vars.items()))  # Go marshals map keys sorted
        if self.exp:
            out["exp"] = self.exp
        if self.iat:
            out["iat"] = self.iat
        return out


@dataclass(slots=True, frozen=True)
class IssuedSession:
    """A session token and its refresh token, plus their claims (for hooks and the cache)."""

    token: str
    refresh_token: str
    claims: SessionClaims
    refresh_claims: SessionClaims


# JWT encoding --------------------------------------------------------------------------


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _b64url_decode(segment: str) -> bytes:
    """Unpadded base64url, as golang-jwt's default (non-strict) decoder accepts it."""
    if "=" in segment or len(segment) % 4 == 1:
        raise ValueError("bad segment")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _payload_json(claims: dict[str, Any]) -> bytes:
    text = json.dumps(claims, separators=(",", ":"), ensure_ascii=True)
    return _ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode("ascii")


def _sign(signing_input: bytes, key: bytes) -> bytes:
    return hmac.new(key, signing_input, hashlib.sha256).digest()


def encode_jwt(claims: dict[str, Any], key: str | bytes) -> str:
    """An HS256 JWT over ``claims`` (already in output order)."""
    key_bytes = key.encode() if isinstance(key, str) else key
    signing_input = _HEADER_B64 + b"." + _b64url(_payload_json(claims))
    return (signing_input + b"." + _b64url(_sign(signing_input, key_bytes))).decode("ascii")


def decode_jwt(token: str, key: str | bytes, now: float) -> dict[str, Any] | None:
    """The verified claims of an HS256 JWT, or None if it is malformed, forged or expired."""
    if not isinstance(token, str):
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(_b64url_decode(parts[0]))
        if not isinstance(header, dict) or header.get("alg") != "HS256":
            return None
        signature = _b64url_decode(parts[2])
        key_bytes = key.encode() if isinstance(key, str) else key
        expected = _sign(f"{parts[0]}.{parts[1]}".encode("ascii"), key_bytes)
        if not hmac.compare_digest(signature, expected):
            return None
        claims = json.loads(_b64url_decode(parts[1]), parse_constant=_no_constant)
    except (ValueError, UnicodeError, binascii.Error):
        return None
    if not isinstance(claims, dict):
        return None
    exp = claims.get("exp")
    if not _is_number(exp) or not now < exp:
        return None
    nbf = claims.get("nbf")
    if nbf is not None and (not _is_number(nbf) or now < nbf):
        return None
    return claims


def _no_constant(name: str) -> Any:
    """``Infinity``, ``-Infinity`` and ``NaN`` are not JSON: Go's decoder refuses them."""
    raise ValueError(f"not JSON: {name}")


_INT64 = 1 << 63


def _is_number(value: Any) -> bool:
    """A JSON number Go reads into the claims' int64: finite and in range (``1e400`` decodes
    to infinity here, and a claim outside int64 fails Go's unmarshal, so the token)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return math.isfinite(value) and -_INT64 <= value < _INT64
    return isinstance(value, int) and -_INT64 <= value < _INT64


def _claims_from_dict(raw: dict[str, Any]) -> SessionClaims | None:
    """Type-check Nakama's claims; a wrong type fails the whole token, as Go's unmarshal does."""
    tid, uid, usn, vrs, iat = raw.get("tid", ""), raw.get("uid", ""), raw.get("usn", ""), raw.get("vrs"), raw.get("iat", 0)
    if not (isinstance(tid, str) and isinstance(uid, str) and isinstance(usn, str)):
        return None
    if vrs is None:
        vrs = {}
    if not isinstance(vrs, dict) or not all(isinstance(v, str) for v in vrs.values()):
        return None
    if not _is_number(iat):
        return None
    try:
        user_id = str(uuid.UUID(uid))
    except ValueError:
        return None
    return SessionClaims(tid, user_id, usn, dict(vrs), int(raw["exp"]), int(iat))


# Invalidation cache --------------------------------------------------------------------


@dataclass(slots=True)
class _UserMarks:
    invalid_before: int = 0  # unix seconds; tokens issued earlier are invalid
    session_ids: dict[str, int] = field(default_factory=dict)  # token id -> when the entry may go
    refresh_ids: dict[str, int] = field(default_factory=dict)


class SessionCache:
    """Nakama's LocalSessionCache: invalidations only (an unseen token is valid).

    The issue time of a token is taken as ``exp - expiry_sec`` as Nakama does, which stays right
    after a refresh (a refreshed token keeps its ``iat`` but gets a new ``exp``).
    Expired entries are pruned lazily during writes, so no background task is needed.
    """

    def __init__(self, token_expiry_sec: int, refresh_token_expiry_sec: int, clock: Callable[[], float] = time.time) -> None:
        self._token_expiry = int(token_expiry_sec)
        self._refresh_expiry = int(refresh_token_expiry_sec)
        self._clock = clock
        self._users: dict[str, _UserMarks] = {}
        self._next_prune = 0.0

    def is_valid_session(self, user_id: str, exp: int, token_id: str) -> bool:
        return self._is_valid(user_id, exp, token_id, self._token_expiry, refresh=False)

    def is_valid_refresh(self, user_id: str, exp: int, token_id: str) -> bool:
        return self._is_valid(user_id, exp, token_id, self._refresh_expiry, refresh=True)

    def _is_valid(self, user_id: str, exp: int, token_id: str, expiry: int, refresh: bool) -> bool:
        marks = self._users.get(user_id)
        if marks is None:
            return True
        if marks.invalid_before and exp - expiry < marks.invalid_before:
            return False
        return token_id not in (marks.refresh_ids if refresh else marks.session_ids)

    def remove(self, user_id: str, session_exp: int, session_token_id: str, refresh_exp: int, refresh_token_id: str) -> None:
        """Invalidate one session token and/or one refresh token (logout)."""
        marks = self._marks(user_id)
        if session_token_id:
            marks.session_ids[session_token_id] = session_exp + 1
        if refresh_token_id:
            marks.refresh_ids[refresh_token_id] = refresh_exp + 1

    def remove_all(self, user_id: str) -> None:
        """Invalidate every token of the user issued up to now."""
        now = int(self._clock())
        marks = self._marks(user_id)
        if now > marks.invalid_before:
            marks.invalid_before = now
            marks.session_ids.clear()
            marks.refresh_ids.clear()

    def ban(self, user_ids: Iterable[str]) -> None:
        now = int(self._clock())
        for user_id in user_ids:
            marks = self._marks(user_id)
            marks.invalid_before = max(marks.invalid_before, now)

    def __len__(self) -> int:
        return len(self._users)

    def _marks(self, user_id: str) -> _UserMarks:
        self._prune()
        marks = self._users.get(user_id)
        if marks is None:
            marks = self._users[user_id] = _UserMarks()
        return marks

    def _prune(self) -> None:
        now = self._clock()
        if now < self._next_prune:
            return
        self._next_prune = now + max(1, self._token_expiry)
        horizon = int(now) - max(self._token_expiry, self._refresh_expiry)
        for user_id in list(self._users):
            marks = self._users[user_id]
            for ids in (marks.session_ids, marks.refresh_ids):
                for tid in [t for t, until in ids.items() if until <= now]:
                    del ids[tid]
            if not marks.session_ids and not marks.refresh_ids and marks.invalid_before < horizon:
                del self._users[user_id]


# The service ---------------------------------------------------------------------------


class TokenService:
    """Issues and checks session/refresh tokens; owns the invalidation cache.

    Built from ``config.session``: ``TokenService.from_config(config)``.
    """

    def __init__(
        self,
        *,
        encryption_key: str,
        refresh_encryption_key: str,
        token_expiry_sec: int = 60,
        refresh_token_expiry_sec: int = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = encryption_key.encode()
        self._refresh_key = refresh_encryption_key.encode()
        self.token_expiry_sec = int(token_expiry_sec)
        self.refresh_token_expiry_sec = int(refresh_token_expiry_sec)
        self._clock = clock
        self.cache = SessionCache(token_expiry_sec, refresh_token_expiry_sec, clock)

    @classmethod
    def from_config(cls, config: Any, clock: Callable[[], float] = time.time) -> TokenService:
        s = config.session
        return cls(
            encryption_key=s.encryption_key,
            refresh_encryption_key=s.refresh_encryption_key,
            token_expiry_sec=s.token_expiry_sec,
            refresh_token_expiry_sec=s.refresh_token_expiry_sec,
            clock=clock,
        )

    def now(self) -> float:
        return self._clock()

    # Issuing -----------------------------------------------------------------------------

    def issue(
        self,
        user_id: str,
        username: str,
        vars: dict[str, str] | None = None,
        *,
        token_id: str | None = None,
        issued_at: int | None = None,
    ) -> IssuedSession:
        """A new token pair. Refresh passes the old ``token_id`` and ``issued_at`` to keep them."""
        now = int(self._clock())
        tid = token_id or str(uuid.uuid4())
        iat = now if issued_at is None else int(issued_at)
        v = dict(vars or {})
        claims = SessionClaims(tid, user_id, username, v, now + self.token_expiry_sec, iat)
        refresh = SessionClaims(tid, user_id, username, v, now + self.refresh_token_expiry_sec, iat)
        return IssuedSession(
            encode_jwt(claims.to_json_dict(), self._key),
            encode_jwt(refresh.to_json_dict(), self._refresh_key),
            claims,
            refresh,
        )

    # Checking ----------------------------------------------------------------------------

    def verify_session(self, token: str) -> SessionClaims | None:
        """Signature, expiry and claim types only (Nakama's parseToken); ignores logouts."""
        raw = decode_jwt(token, self._key, self._clock())
        return None if raw is None else _claims_from_dict(raw)

    def verify_refresh(self, token: str) -> SessionClaims | None:
        raw = decode_jwt(token, self._refresh_key, self._clock())
        return None if raw is None else _claims_from_dict(raw)

    def parse_session(self, token: str) -> SessionClaims | None:
        """A usable session token's claims: verified and not invalidated. None otherwise."""
        claims = self.verify_session(token)
        if claims is None or not self.cache.is_valid_session(claims.user_id, claims.exp, claims.token_id):
            return None
        return claims

    def parse_refresh(self, token: str) -> SessionClaims | None:
        claims = self.verify_refresh(token)
        if claims is None or not self.cache.is_valid_refresh(claims.user_id, claims.exp, claims.token_id):
            return None
        return claims

    # Invalidating ------------------------------------------------------------------------

    def invalidate(self, user_id: str, session: SessionClaims | None, refresh: SessionClaims | None) -> None:
        """Logout: invalidate the given tokens, or every token of the user when neither has an id."""
        sid = session.token_id if session else ""
        rid = refresh.token_id if refresh else ""
        if not sid and not rid:
            self.cache.remove_all(user_id)
            return
        self.cache.remove(user_id, session.exp if session else 0, sid, refresh.exp if refresh else 0, rid)

    def invalidate_all(self, user_id: str) -> None:
        self.cache.remove_all(user_id)

    def ban(self, user_ids: Iterable[str]) -> None:
        self.cache.ban(user_ids)
