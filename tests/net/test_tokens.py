"""Session tokens: JWT shape and claims (as nakama-js decodes them), parse rules, invalidation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host.net.tokens import SessionCache, TokenService, decode_jwt, encode_jwt

UID = "5d6a7b1e-53a1-4f5c-9d35-3f0f2a8b9c10"
T0 = 1_700_000_000


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def service(clock: Clock) -> TokenService:
    return TokenService(
        encryption_key="defaultencryptionkey",
        refresh_encryption_key="defaultrefreshencryptionkey",
        token_expiry_sec=60,
        refresh_token_expiry_sec=3600,
        clock=clock,
    )


def js_decode(token: str) -> dict:
    """What nakama-js does: split on '.', atob the middle part (js-base64 strips '-' and '_'), JSON.parse."""
    middle = token.split(".")[1]
    tidy = "".join(c for c in middle if c.isalnum() or c in "+/")
    return json.loads(base64.b64decode(tidy + "=" * (-len(tidy) % 4)))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict, claims: dict, key: bytes) -> str:
    signing = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    sig = hmac.new(key, signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{b64url(sig)}"


def test_issue_claims_and_shape() -> None:
    svc = service(Clock())
    issued = svc.issue(UID, "alice", {"k": "v"})
    header = json.loads(base64.urlsafe_b64decode(issued.token.split(".")[0] + "=="))
    assert header == {"alg": "HS256", "typ": "JWT"}
    claims = js_decode(issued.token)
    assert list(claims) == ["tid", "uid", "usn", "vrs", "exp", "iat"]
    assert claims["uid"] == UID and claims["usn"] == "alice" and claims["vrs"] == {"k": "v"}
    assert claims["exp"] == T0 + 60 and claims["iat"] == T0
    assert uuid.UUID(claims["tid"]).version == 4
    refresh = js_decode(issued.refresh_token)
    assert refresh["tid"] == claims["tid"] and refresh["exp"] == T0 + 3600 and refresh["iat"] == T0


def test_vrs_omitted_when_empty() -> None:
    claims = js_decode(service(Clock()).issue(UID, "alice").token)
    assert "vrs" not in claims


def test_keys_are_separate() -> None:
    svc = service(Clock())
    issued = svc.issue(UID, "alice")
    assert svc.parse_session(issued.token) is not None
    assert svc.parse_refresh(issued.refresh_token) is not None
    assert svc.parse_session(issued.refresh_token) is None
    assert svc.parse_refresh(issued.token) is None


def test_expiry_boundary() -> None:
    clock = Clock()
    svc = service(clock)
    issued = svc.issue(UID, "alice")
    clock.t = T0 + 59.999
    assert svc.parse_session(issued.token) is not None
    clock.t = T0 + 60  # golang-jwt v5: valid only while now < exp
    assert svc.parse_session(issued.token) is None
    assert svc.parse_refresh(issued.refresh_token) is not None


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1],  # signature
        lambda t: t + ".x",
        lambda t: t.split(".", 1)[1],
        lambda t: "",
        lambda t: "a.b.c",
        lambda t: t.replace(".", "=.", 1),  # padding is not base64url JWT
    ],
)
def test_tampered_tokens_rejected(mutate) -> None:
    svc = service(Clock())
    token = svc.issue(UID, "alice").token
    assert svc.parse_session(mutate(token)) is None


KEY = b"defaultencryptionkey"
GOOD = {"tid": "t", "uid": UID, "usn": "alice", "exp": T0 + 60}


@pytest.mark.parametrize(
    "header, claims",
    [
        ({"alg": "none", "typ": "JWT"}, GOOD),
        ({"alg": "HS512", "typ": "JWT"}, GOOD),
        ({"typ": "JWT"}, GOOD),
        ({"alg": "HS256"}, {k: v for k, v in GOOD.items() if k != "exp"}),  # exp required
        ({"alg": "HS256"}, {**GOOD, "exp": str(T0 + 60)}),
        ({"alg": "HS256"}, {**GOOD, "nbf": T0 + 10}),
        ({"alg": "HS256"}, {**GOOD, "uid": "not-a-uuid"}),
        ({"alg": "HS256"}, {**GOOD, "usn": 5}),
        ({"alg": "HS256"}, {**GOOD, "vrs": {"a": 1}}),
        ({"alg": "HS256"}, {**GOOD, "vrs": ["a"]}),
    ],
)
def test_parse_rules(header: dict, claims: dict) -> None:
    assert service(Clock()).parse_session(forge(header, claims, KEY)) is None


def test_foreign_but_valid_token_accepted() -> None:
    """A token from another HS256 issuer with the same key and claims (e.g. Nakama itself) parses."""
    claims = service(Clock()).parse_session(forge({"alg": "HS256", "typ": "JWT"}, GOOD, KEY))
    assert claims is not None and claims.user_id == UID and claims.vars == {} and claims.iat == 0


def test_decode_jwt_roundtrip() -> None:
    token = encode_jwt({"exp": T0 + 1, "x": "y"}, "k")
    assert decode_jwt(token, "k", T0) == {"exp": T0 + 1, "x": "y"}
    assert decode_jwt(token, "other", T0) is None


@settings(max_examples=200, deadline=None)
@given(
    username=st.text(min_size=1, max_size=40),
    vars=st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=4),
)
def test_payload_decodes_with_nakama_js_atob(username: str, vars: dict[str, str]) -> None:
    """Any username/vars (non-ASCII, '?', '~', '>'...) survive nakama-js's lossy base64 decoding."""
    token = service(Clock()).issue(UID, username, vars).token
    assert "-" not in token.split(".")[1] and "_" not in token.split(".")[1]
    claims = js_decode(token)
    assert claims["usn"] == username and claims.get("vrs", {}) == vars


def test_refresh_keeps_tid_and_iat() -> None:
    clock = Clock()
    svc = service(clock)
    first = svc.issue(UID, "alice", {"a": "b"})
    clock.t = T0 + 500
    again = svc.issue(UID, "alice", {"a": "b"}, token_id=first.claims.token_id, issued_at=first.claims.iat)
    c = js_decode(again.token)
    assert c["tid"] == first.claims.token_id and c["iat"] == T0 and c["exp"] == T0 + 560


def test_logout_invalidates_pair_only() -> None:
    svc = service(Clock())
    a = svc.issue(UID, "alice")
    b = svc.issue(UID, "alice")
    svc.invalidate(UID, svc.parse_session(a.token), svc.parse_refresh(a.refresh_token))
    assert svc.parse_session(a.token) is None and svc.parse_refresh(a.refresh_token) is None
    assert svc.parse_session(b.token) is not None and svc.parse_refresh(b.refresh_token) is not None
    # verify_* ignores the cache (signature and expiry only).
    assert svc.verify_session(a.token) is not None


def test_logout_without_tokens_invalidates_everything_issued_before() -> None:
    clock = Clock()
    svc = service(clock)
    old = svc.issue(UID, "alice")
    clock.t = T0 + 1
    svc.invalidate(UID, None, None)
    assert svc.parse_session(old.token) is None and svc.parse_refresh(old.refresh_token) is None
    clock.t = T0 + 2
    new = svc.issue(UID, "alice")
    assert svc.parse_session(new.token) is not None and svc.parse_refresh(new.refresh_token) is not None


def test_ban_invalidates_earlier_tokens() -> None:
    clock = Clock()
    svc = service(clock)
    old = svc.issue(UID, "alice")
    clock.t = T0 + 5
    svc.ban([UID])
    assert svc.parse_session(old.token) is None and svc.parse_refresh(old.refresh_token) is None


def test_cache_prunes_expired_entries() -> None:
    clock = Clock()
    cache = SessionCache(60, 3600, clock)
    cache.remove(UID, T0 + 60, "tid", T0 + 3600, "tid")
    assert len(cache) == 1
    clock.t = T0 + 3602
    cache.remove("other-user", T0 + 4000, "t2", 0, "")  # a write triggers the prune
    assert len(cache) == 1  # UID's entries expired and went; only the new user remains
