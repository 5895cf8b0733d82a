"""The nk utility functions, the shared local cache and the trusted Lua JSON encoder.

Vectors come from Nakama's own tests and behaviour (md5/sha256 of "test"), RFCs and NIST, and
from Go's encoding/base64 and encoding/hex for the error texts Nakama passes through.
"""

from __future__ import annotations

import math
import re
import threading
import time as pytime
import uuid
from pathlib import Path
from types import MappingProxyType

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lupa import luajit21

from host.runtime import nk_utils as nk
from host.runtime.errors import NkArgError
from host.runtime.localcache import MAX_VALUE_DEPTH, LocalCache

JSON_LUA = (Path(nk.__file__).parent / "lua" / "json.lua").read_bytes()


def raises(message: str, argn: int | None = None):
    """Expect an NkArgError with exactly this text (and argument position, for ArgErrors)."""
    return _Raises(message, argn)


class _Raises:
    def __init__(self, message: str, argn: int | None) -> None:
        self.message, self.argn = message, argn

    def __enter__(self) -> None:
        self._ctx = pytest.raises(NkArgError)
        self._info = self._ctx.__enter__()

    def __exit__(self, *exc: object) -> bool:
        handled = self._ctx.__exit__(*exc)
        assert self._info.value.message == self.message
        assert self._info.value.argn == self.argn
        return handled


# ----------------------------------------------------------------------------------------------
# Arguments


def test_string_arguments_follow_check_string():
    assert nk.md5_hash(123) == nk.md5_hash(b"123")
    assert nk.string_arg(3.0) == b"3"
    assert nk.string_arg(1.5) == b"1.5"
    assert nk.string_arg(1e300) == b"1e+300"
    assert nk.string_arg("é") == "é".encode()
    with raises("string expected, got table", 1):
        nk.md5_hash({})
    with raises("string expected, got boolean", 2):
        nk.hmac_sha256_hash(b"x", True)
    with raises("string expected, got nil", 1):
        nk.base64_encode(None)


# ----------------------------------------------------------------------------------------------
# Hashes, HMAC, random bytes


def test_hash_vectors_are_lowercase_hex():
    assert nk.md5_hash(b"test") == b"098f6bcd4621d373cade4e832627b4f6"
    assert nk.sha256_hash(b"test") == b"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def test_hmac_sha256_returns_raw_bytes():
    # RFC 4231 test case 2
    mac = nk.hmac_sha256_hash(b"what do ya want for nothing?", b"Jefe")
    assert mac == bytes.fromhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


@pytest.mark.parametrize("fn", [nk.md5_hash, nk.sha256_hash])
def test_hash_of_empty_input_is_refused(fn):
    with raises("expects input string", 1):
        fn(b"")


def test_hmac_argument_errors():
    with raises("expects input string", 1):
        nk.hmac_sha256_hash(b"", b"key")
    with raises("expects key string", 2):
        nk.hmac_sha256_hash(b"data", b"")


def test_secure_random_bytes():
    a, b = nk.secure_random_bytes(32), nk.secure_random_bytes(32.0)
    assert len(a) == len(b) == 32 and a != b
    assert nk.secure_random_bytes(0) == b""
    message = f"expects a whole number of bytes from 0 to {nk.MAX_RANDOM_BYTES}"
    for bad in (-1, 1.5, nk.MAX_RANDOM_BYTES + 1, math.inf, math.nan, True, b"8"):
        with raises(message, 1):
            nk.secure_random_bytes(bad)


# ----------------------------------------------------------------------------------------------
# base64 / base16


def test_base64_round_trip_and_padding():
    assert nk.base64_encode(b"Hello") == b"SGVsbG8="
    assert nk.base64_encode(b"Hello", False) == b"SGVsbG8"
    assert nk.base64_decode(b"SGVsbG8=") == b"Hello"
    assert nk.base64_decode(b"SGVsbG8") == b"Hello"  # padding added, as Nakama does
    assert nk.base64_decode(b"SGVs\r\nbG8=", False) == b"Hello"  # Go skips CR/LF
    data = bytes(range(256))
    assert nk.base64_decode(nk.base64_encode(data)) == data


def test_base64url_round_trip_and_nakama_flag():
    assert nk.base64url_encode(b"\xfb\xff") == b"-_8="
    assert nk.base64url_encode(b"\xfb\xff", False) == b"-_8"
    assert nk.base64url_decode(b"-_8") == b"\xfb\xff"  # default: padding added
    assert nk.base64url_decode(b"-_8=", True) == b"\xfb\xff"
    with raises("not a valid base64 url string: illegal base64 data at input byte 0"):
        nk.base64url_decode(b"-_8", True)  # Nakama: True means "input is padded"


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        (b"SGVsbG8", 4),  # unpadded: the last quantum is short
        (b"SGV$bG8=", 3),  # a byte outside the alphabet
        (b"QQ==QQ==", 4),  # data after the padding
        (b"QQ=", 3),  # "==" expected, input ends
        (b"Q===", 1),  # padding after one symbol
        (b"QQ=A", 2),  # "=" then a symbol: Go points at the "="
        (b"-_8=", 0),  # URL alphabet in standard base64
    ],
)
def test_base64_errors_name_gos_offset(text, offset):
    with raises(f"not a valid base64 string: illegal base64 data at input byte {offset}"):
        nk.base64_decode(text, False)


@pytest.mark.parametrize(
    "fn", [nk.base64_encode, nk.base64_decode, nk.base64url_encode, nk.base64url_decode,
           nk.base16_encode, nk.base16_decode]
)
def test_codecs_refuse_empty_input(fn):
    with raises("expects string", 1):
        fn(b"")


def test_base16():
    assert nk.base16_encode(b"\x00\xffhi") == b"00ff6869"
    assert nk.base16_decode(b"00FF6869") == b"\x00\xffhi"
    with raises("not a valid base16 string: encoding/hex: invalid byte: U+007A 'z'"):
        nk.base16_decode(b"0z")
    with raises("not a valid base16 string: encoding/hex: invalid byte: U+000A"):
        nk.base16_decode(b"00\n")
    with raises("not a valid base16 string: encoding/hex: odd length hex string"):
        nk.base16_decode(b"abc")


# ----------------------------------------------------------------------------------------------
# AES (CFB, random IV first, input space-padded to a multiple of 4)

KEY16 = b"0123456789abcdef"
KEY32 = KEY16 * 2


@pytest.mark.parametrize(
    ("encrypt", "decrypt", "key"),
    [(nk.aes128_encrypt, nk.aes128_decrypt, KEY16), (nk.aes256_encrypt, nk.aes256_decrypt, KEY32)],
)
def test_aes_round_trip(encrypt, decrypt, key):
    secret = encrypt(b"hello world!", key)
    assert len(secret) == 16 + 12
    assert decrypt(secret, key) == b"hello world!"
    assert encrypt(b"hello world!", key) != secret  # fresh IV each time
    assert decrypt(encrypt(b"hello", key), key) == b"hello   "  # Nakama's padding stays


def test_aes128_is_cfb128():
    # NIST SP 800-38A F.3.13, CFB128-AES128, first block
    key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    iv = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
    cipher = bytes.fromhex("3b3fd92eb72dad20333449f8e83cfb4a")
    assert nk.aes128_decrypt(iv + cipher, key) == bytes.fromhex("6bc1bee22e409f96e93d7e117393172a")


def test_aes_errors():
    with raises("expects string", 1):
        nk.aes128_encrypt(b"", KEY16)
    with raises("expects key 16 bytes long", 2):
        nk.aes128_encrypt(b"x", KEY32)
    with raises("expects key 32 bytes long", 2):
        nk.aes256_decrypt(b"x" * 20, KEY16)
    with raises("input too short"):
        nk.aes128_decrypt(b"x" * 15, KEY16)
    assert nk.aes128_decrypt(b"x" * 16, KEY16) == b""


# ----------------------------------------------------------------------------------------------
# bcrypt


def test_bcrypt_hash_and_compare():
    hashed = nk.bcrypt_hash(b"secret password")
    assert hashed.startswith(b"$2a$10$") and len(hashed) == 60
    assert nk.bcrypt_compare(hashed, b"secret password") is True
    assert nk.bcrypt_compare(hashed, b"wrong") is False
    assert nk.bcrypt_compare(b"$2a$10$short", b"x") is False  # too short: false, as in Nakama


def test_bcrypt_limits_and_errors():
    with raises("expects string", 1):
        nk.bcrypt_hash(b"")
    with raises("error hashing input: bcrypt: password length exceeds 72 bytes"):
        nk.bcrypt_hash(b"a" * 73)
    with raises("expects string", 1):
        nk.bcrypt_compare(b"", b"x")
    with raises("expects string", 2):
        nk.bcrypt_compare(b"x" * 60, b"")
    with raises("error comparing hash and plaintext: invalid bcrypt hash"):
        nk.bcrypt_compare(b"x" * 60, b"x")
    # Go compares only the first 72 bytes of the password.
    hashed = nk.bcrypt_hash(b"a" * 72)
    assert nk.bcrypt_compare(hashed, b"a" * 80) is True


# ----------------------------------------------------------------------------------------------
# UUIDs and time

CANONICAL = b"6ba7b810-9dad-11d1-80b4-00c04fd430c8"
RAW = bytes.fromhex("6ba7b8109dad11d180b400c04fd430c8")


def test_uuid_v4():
    text = nk.uuid_v4()
    assert re.fullmatch(rb"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", text)
    assert nk.uuid_v4() != text


@pytest.mark.parametrize(
    "text",
    [CANONICAL, CANONICAL.upper(), CANONICAL.replace(b"-", b""), b"{" + CANONICAL + b"}",
     b"urn:uuid:" + CANONICAL, b"{" + CANONICAL.replace(b"-", b"") + b"}"],
)
def test_uuid_string_to_bytes_accepts_gofrs_forms(text):
    assert nk.uuid_string_to_bytes(text) == RAW


def test_uuid_conversions_and_errors():
    assert nk.uuid_bytes_to_string(RAW) == CANONICAL
    assert nk.uuid_string_to_bytes(nk.uuid_bytes_to_string(RAW)) == RAW
    with raises("expects a UUID byte string", 1):
        nk.uuid_bytes_to_string(b"")
    with raises("not a valid UUID byte string", 1):
        nk.uuid_bytes_to_string(RAW[:15])
    with raises("expects a UUID string", 1):
        nk.uuid_string_to_bytes(b"")
    for bad in (CANONICAL[:-1], CANONICAL[:8] + b"-" + CANONICAL[9:].replace(b"-", b""),
                b"{" + CANONICAL, b"x" * 36, b"uuid:" + CANONICAL):
        with raises("not a valid UUID string", 1):
            nk.uuid_string_to_bytes(bad)


def test_time_is_milliseconds_now():
    before = pytime.time_ns() // 1_000_000
    now = nk.time()
    assert isinstance(now, int) and before <= now <= pytime.time_ns() // 1_000_000


def test_time_of_a_date_table_normalises_like_go():
    assert nk.time({b"year": 1970, b"month": 1, b"day": 1, b"hour": 0}) == 0
    assert nk.time({b"year": 2024, b"month": 2, b"day": 29, b"msec": 5}) == 1709208000005  # 12:00
    # month 14 of 2024 is February 2025; day 0 is the day before the 1st
    assert nk.time({b"year": 2024, b"month": 14, b"day": 0}) == 1738324800000
    assert nk.time({b"year": 2000, b"month": 1, b"day": 1, b"sec": -1, b"hour": 0}) == 946684799000
    assert nk.time({b"year": 1969, b"month": 12, b"day": 31, b"hour": 23, b"min": 59, b"sec": 59.9}) == -1000
    assert nk.time({b"year": 1970, b"month": 1, b"day": 1, b"hour": b"x"}) == 12 * 3600 * 1000


# ----------------------------------------------------------------------------------------------
# json_decode


def test_json_decode_returns_lua_ready_data():
    assert nk.json_decode(b'{"key":"value"}') == {b"key": b"value"}
    value = nk.json_decode('{"a":[1,2.5,null,true],"é":"😀","big":18446744073709551615}'.encode())
    assert value == {b"a": [1, 2.5, None, True], "é".encode(): "😀".encode(), b"big": 2.0**64}
    assert isinstance(value[b"big"], float)


def test_json_decode_errors():
    with raises("expects JSON string", 1):
        nk.json_decode(b"")
    with pytest.raises(NkArgError, match=r"^not a valid JSON string: ") as info:
        nk.json_decode(b"{nope")
    assert info.value.argn is None
    deep = b"[" * (nk.MAX_JSON_DEPTH + 1) + b"]" * (nk.MAX_JSON_DEPTH + 1)
    with raises(f"not a valid JSON string: nested deeper than {nk.MAX_JSON_DEPTH} levels"):
        nk.json_decode(deep)
    ok = b"[" * nk.MAX_JSON_DEPTH + b"]" * nk.MAX_JSON_DEPTH
    assert nk.json_decode(ok)


# ----------------------------------------------------------------------------------------------
# json.lua, in a plain LuaJIT runtime (byte strings, JIT off like the sandbox)


@pytest.fixture(scope="module")
def lua():
    runtime = luajit21.LuaRuntime(encoding=None)
    runtime.execute("jit.off()")
    return runtime


@pytest.fixture(scope="module")
def encode(lua):
    return lua.execute(JSON_LUA).encode


@pytest.fixture(scope="module")
def enc(lua, encode):
    """Encode the value of a Lua expression; return the JSON text."""
    def run(expression: str) -> str:
        return encode(lua.eval(expression)).decode()
    return run


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("{}", "{}"),
        ("{1, 2, 3}", "[1,2,3]"),
        ("(function() local t = {} t[1], t[2], t[4] = 1, 2, 4 return t end)()", "[1,2,null,4]"),
        ("{1, 2, x = 3}", "[1,2]"),
        ("{[2] = 'b'}", '{"2":"b"}'),
        ("{[true] = 1, [false] = 2}", '{"false":2,"true":1}'),
        ("{b = 1, a = {c = {}}, C = 'x'}", '{"C":"x","a":{"c":{}},"b":1}'),
        ("{[1.5] = 'x'}", '{"1.5":"x"}'),
        ("1.0", "1"),
        ("-0.0", "0"),
        ("1.5", "1.5"),
        ("0.1", "0.1"),
        ("1/3", "0.3333333333333333"),
        ("2^53", "9007199254740992"),
        ("-2^63", "-9223372036854775808"),
        ("1e300", "1e+300"),
        ("-1e-300", "-1e-300"),
        ("true", "true"),
        ("'plain'", '"plain"'),
        (
            "'q\" b\\\\ nl\\n tab\\t cr\\r \\1 \\31 \\127'",
            r'"q\" b\\ nl\n tab\t cr\r \u0001 \u001f ' + "\x7f\"",  # DEL needs no escape
        ),
        ("'\\0'", r'"\u0000"'),
    ],
)
def test_encode_rules(enc, expression, expected):
    assert enc(expression) == expected


def test_encode_large_whole_numbers_read_back_exactly(enc):
    for expression, value in [("2^63", 2.0**63), ("-2^63 - 2^11", -(2.0**63) - 2.0**11), ("2^64", 2.0**64)]:
        assert float(orjson.loads(enc(expression))) == value


def test_encode_passes_utf8_and_repairs_invalid_bytes(enc):
    assert enc("'é😀 ok'") == '"é😀 ok"'
    # each byte that starts no valid sequence becomes \ufffd, as Go's encoder does
    assert enc(r"'a\255b'") == r'"a\ufffdb"'
    assert enc(r"'\226\130'") == r'"\ufffd\ufffd"'  # truncated 3-byte sequence
    assert enc(r"'\237\160\128'") == r'"\ufffd\ufffd\ufffd"'  # UTF-16 surrogate
    assert enc(r"'\192\175'") == r'"\ufffd\ufffd"'  # overlong "/"
    assert enc(r"'\244\144\128\128'") == r'"\ufffd\ufffd\ufffd\ufffd"'  # above U+10FFFF
    assert enc(r"'\"\255'") == r'"\"\ufffd"'


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0/0", "error encoding to JSON: json: unsupported value: NaN"),
        ("{x = 1/0}", "error encoding to JSON: json: unsupported value: +Inf"),
        ("{-1/0}", "error encoding to JSON: json: unsupported value: -Inf"),
        ("{f = print}", "error encoding to JSON: json: unsupported type: function"),
        ("{coroutine.create(print)}", "error encoding to JSON: json: unsupported type: thread"),
        ("{[{}] = 1}", "error encoding to JSON: json: unsupported key type: table"),
        ("nil", "expects a non-nil value to encode"),
        ("(function() local t = {} t.self = t return t end)()",
         "error encoding to JSON: nesting deeper than 64 levels"),
    ],
)
def test_encode_errors(lua, encode, expression, message):
    with pytest.raises(luajit21.LuaError) as info:
        encode(lua.eval(expression))
    assert str(info.value).startswith(message)


def test_encode_depth_limit(lua, encode):
    nest = lua.eval("function(n) local t = {} for _ = 2, n do t = {t} end return t end")
    assert encode(nest(64)) == b"[" * 63 + b"{}" + b"]" * 63
    with pytest.raises(luajit21.LuaError, match="nesting deeper than 64 levels"):
        encode(nest(65))


def test_encode_reads_tables_raw(enc):
    # no metamethod runs: __index is not consulted for holes, __pairs/__len are not honoured
    expression = """(function()
        local t = setmetatable({}, {__index = function() error("metamethod ran") end,
                                    __len = function() return 9 end})
        t[1], t[2], t[4] = 'a', 'b', 'd'
        return {t, setmetatable({k = 1}, {__index = function() error("ran") end})}
    end)()"""
    assert enc(expression) == '[["a","b",null,"d"],{"k":1}]'


def test_encode_merges_keys_with_the_same_text(enc):
    text = enc("{[1.5] = 'n', ['1.5'] = 's', z = 0}")
    assert orjson.loads(text) in ({"1.5": "n", "z": 0}, {"1.5": "s", "z": 0})
    assert text.count("1.5") == 1


def test_encode_does_not_depend_on_globals():
    """A script replacing string/table functions or globals after load changes nothing."""
    lua = luajit21.LuaRuntime(encoding=None)
    encode = lua.execute(JSON_LUA).encode
    lua.execute("""
        local boom = function() error("replaced global called") end
        for _, lib in ipairs({string, table, math}) do
          for name in pairs(lib) do lib[name] = boom end
        end
        for _, name in ipairs({"type", "next", "pairs", "tostring", "tonumber", "getmetatable",
                               "rawget", "error", "select"}) do _G[name] = nil end
    """)
    value = lua.eval("{a = {1, 2.5, 'x\\n', true}, b = {}, [true] = 'é'}")
    assert encode(value) == '{"a":[1,2.5,"x\\n",true],"b":{},"true":"é"}'.encode()


def test_json_encode_of_json_decode(lua, encode):
    table = lua.table_from(nk.json_decode(b'{"key":"value"}'), recursive=True)
    assert encode(table) == b'{"key":"value"}'
    nested = b'{"a":[1,2,{"b":null,"c":[]}],"d":1.5,"e":"\\u00e9"}'
    table = lua.table_from(nk.json_decode(nested), recursive=True)
    # Nakama's rules: null keys vanish, [] comes back as {}
    assert encode(table) == '{"a":[1,2,{"c":{}}],"d":1.5,"e":"é"}'.encode()


# Round trip: JSON-shaped data -> Lua table -> json.lua -> orjson equals the data under Nakama's
# rules. Exceptions the strategy avoids or the model applies:
#   * an empty list (or an object whose values are all null) comes back as {};
#   * a null object value drops the key; null is not generated inside lists (a hole moves the
#     LuaJIT border, so where the array ends is not defined);
#   * integers stay within +-2^53 (Lua numbers are doubles); floats are finite.

json_leaves = (
    st.none() | st.booleans() | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner.filter(lambda v: v is not None), max_size=5)
    | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


def to_lua_data(value):
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, dict):
        return {k.encode(): to_lua_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_lua_data(v) for v in value]
    return value


def nakama_model(value):
    if isinstance(value, dict):
        return {k: nakama_model(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [nakama_model(v) for v in value] if value else {}
    return value


@settings(max_examples=150, deadline=None)
@given(json_values.filter(lambda v: v is not None))
def test_round_trip_property(lua, encode, value):
    table = lua.table_from(to_lua_data(value), recursive=True) if isinstance(value, (dict, list)) \
        else to_lua_data(value)
    text = encode(table)
    assert orjson.loads(text) == nakama_model(value)


# ----------------------------------------------------------------------------------------------
# LocalCache


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_localcache_basics():
    cache = LocalCache()
    assert cache.get(b"k") is None
    assert cache.get(b"k", b"default") == b"default"
    cache.put(b"k", 42)
    assert cache.get(b"k", b"default") == 42
    cache.put(b"nil", None)
    assert cache.get(b"nil", b"default") is None  # stored nil is found, as in Nakama
    cache.delete(b"k")
    cache.delete(b"missing")
    assert cache.get(b"k", 7) == 7
    cache.put(b"a", b"x")
    cache.clear()
    assert len(cache) == 0 and cache.size_bytes == 0


def test_localcache_values_are_frozen_copies():
    cache = LocalCache()
    original = {b"list": [1, {b"x": b"y"}], b"n": 1.5}
    cache.put(b"t", original)
    original[b"list"].append(2)
    stored = cache.get(b"t")
    assert stored == {b"list": (1, {b"x": b"y"}), b"n": 1.5}
    assert isinstance(stored, MappingProxyType) and isinstance(stored[b"list"], tuple)
    with pytest.raises(TypeError):
        stored[b"n"] = 2  # type: ignore[index]
    lua = luajit21.LuaRuntime(encoding=None)
    table = lua.table_from(stored, recursive=True)
    assert lua.eval("function(t) return t.list[2].x .. #t.list end")(table) == b"y2"


def test_localcache_ttl_seconds():
    clock = FakeClock()
    cache = LocalCache(clock=clock)
    cache.put(b"short", b"v", 2)
    cache.put(b"forever", b"v", 0)
    cache.put(b"float", b"v", 1.9)  # truncated to 1 s, like OptInt64
    clock.now += 1
    assert cache.get(b"float", b"gone") == b"gone"
    assert cache.get(b"short") == b"v"
    clock.now += 1
    assert cache.get(b"short", b"gone") == b"gone"
    clock.now += 10**6
    assert cache.get(b"forever") == b"v"


def test_localcache_argument_errors():
    cache = LocalCache()
    with raises("expects key string", 1):
        cache.put(b"", 1)
    with raises("expects key string", 1):
        cache.get(b"")
    with raises("expects key string", 1):
        cache.delete(b"")
    with raises("ttl must be 0 or more", 3):
        cache.put(b"k", 1, -1)
    with raises("ttl must be a number", 3):
        cache.put(b"k", 1, b"10")
    with raises("cannot store a value of type object", 2):
        cache.put(b"k", object())
    deep: list = []
    for _ in range(MAX_VALUE_DEPTH):
        deep = [deep]
    with raises(f"value is nested deeper than {MAX_VALUE_DEPTH} levels", 2):
        cache.put(b"k", deep)
    assert len(cache) == 0


def test_localcache_bounds_refuse_and_purge_expired():
    clock = FakeClock()
    cache = LocalCache(max_entries=2, max_bytes=200, clock=clock)
    cache.put(b"a", 1, 5)
    cache.put(b"b", 2)
    cache.put(b"a", 3)  # overwriting never needs room
    with raises("localcache is full (2 keys, 200 bytes at most)"):
        cache.put(b"c", 3)
    cache.put(b"a", 1, 5)
    clock.now += 5
    cache.put(b"c", 3)  # the expired "a" made room
    assert cache.get(b"c") == 3 and len(cache) == 2
    with raises("localcache is full (2 keys, 200 bytes at most)"):
        cache.put(b"b", b"x" * 300)
    assert cache.get(b"b") == 2
    before = cache.size_bytes
    cache.put(b"b", b"x" * 20)
    cache.put(b"b", 2)
    assert cache.size_bytes == before


def test_localcache_expiry_heap_stays_bounded():
    cache = LocalCache(clock=FakeClock())
    for _ in range(1000):
        cache.put(b"k", 1, 60)
    assert len(cache._expiry) <= 2 * len(cache) + 65


def test_localcache_is_thread_safe():
    cache = LocalCache(max_entries=100_000)
    errors: list[BaseException] = []

    def work(tid: int) -> None:
        try:
            for i in range(2000):
                key = f"{tid}:{i % 50}".encode()
                cache.put(key, {b"i": i}, i % 3)
                value = cache.get(key)
                assert value is None or value[b"i"] >= 0
                if i % 7 == 0:
                    cache.delete(key)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert cache.size_bytes == sum(entry.size for entry in cache._entries.values())
