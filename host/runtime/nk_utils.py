"""The pure utility functions of the ``nk`` Lua module, with Nakama's behaviour and messages.

Each function takes the values a Lua call passes (the runtime runs lupa with byte strings, so Lua
strings arrive as ``bytes`` and numbers as ``int``/``float``) and returns ``bytes`` for strings.
A bad argument raises :class:`NkArgError` carrying Nakama's own text (read from
``server/runtime_lua_nakama.go``); the runtime's binding adds the caller's position and name.

Nakama raises two kinds of error, and both keep its wording: ``l.ArgError`` becomes
``NkArgError(text, argn)`` (shown as "bad argument #n to f (text)"), ``l.RaiseError`` becomes
``NkArgError(text)`` (the text alone).

Nothing here imports lupa: these are plain functions, easy to test and to reuse.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time as _time
import uuid
from collections.abc import Mapping

import bcrypt as _bcrypt
import orjson
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

try:  # cryptography >= 47 files CFB under its "decrepit" modes
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.modes import CFB  # type: ignore[assignment]

from host.runtime.errors import NkArgError

__all__ = [
    "aes128_decrypt",
    "aes128_encrypt",
    "aes256_decrypt",
    "aes256_encrypt",
    "base16_decode",
    "base16_encode",
    "base64_decode",
    "base64_encode",
    "base64url_decode",
    "base64url_encode",
    "bcrypt_compare",
    "bcrypt_hash",
    "hmac_sha256_hash",
    "json_decode",
    "md5_hash",
    "secure_random_bytes",
    "sha256_hash",
    "string_arg",
    "time",
    "uuid_bytes_to_string",
    "uuid_string_to_bytes",
    "uuid_v4",
]

#: JSON nested deeper than this is refused by json_decode (Python recursion stays far from its limit;
#: real documents are nowhere near it, and json_encode itself stops at 64).
MAX_JSON_DEPTH = 256
#: Largest secure_random_bytes request: the bytes are allocated in Python, outside the VM's
#: memory cap, so the size is bounded here.
MAX_RANDOM_BYTES = 65536
#: Go's bcrypt.DefaultCost, used by Nakama.
BCRYPT_COST = 10
#: bcrypt reads at most 72 bytes of the password; Go refuses longer ones when hashing.
BCRYPT_MAX_PASSWORD = 72
#: Shorter strings are not bcrypt hashes (Go's ErrHashTooShort, which Nakama turns into false).
BCRYPT_MIN_HASH = 59
_INT64 = 1 << 63


# ----------------------------------------------------------------------------------------------
# Arguments


def _lua_type(value: object) -> str:
    """The Lua type name of a value as the binding hands it over (for "string expected" errors)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (Mapping, list, tuple)):
        return "table"
    # lupa's wrappers are _LuaTable, _LuaFunction, _LuaThread, ...
    return type(value).__name__.removeprefix("_Lua").lower()


def _number_text(value: int | float) -> str:
    """A Lua number as gopher-lua's ``tostring`` writes it (whole numbers without ``.0``)."""
    if isinstance(value, int):
        return str(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and -_INT64 <= value < _INT64:
        return str(int(value))
    return repr(value)  # shortest round-trip form, as Go's %v


def string_arg(value: object, argn: int | None = None) -> bytes:
    """Coerce argument ``argn`` to a string as gopher-lua's ``CheckString`` does: strings pass,
    numbers become their text, anything else is an error."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number_text(value).encode()
    raise NkArgError(f"string expected, got {_lua_type(value)}", argn)


def _required(value: object, message: str, argn: int = 1) -> bytes:
    """Argument ``argn`` as bytes; Nakama refuses the empty string with ``message``."""
    data = string_arg(value, argn)
    if not data:
        raise NkArgError(message, argn)
    return data


# ----------------------------------------------------------------------------------------------
# JSON


def _too_deep() -> NkArgError:
    return NkArgError(f"not a valid JSON string: nested deeper than {MAX_JSON_DEPTH} levels")


# orjson's result made ready for a byte-string Lua VM: every str becomes UTF-8 bytes (lupa with
# ``encoding=None`` would otherwise wrap it as a Python object) and integers outside int64 become
# floats (Lua numbers are doubles; Nakama's decoder makes every number a float64). Every container
# is new, so lupa's ``table_from`` never meets one twice (lupa#297). Scalars are converted inline
# (no call per leaf): this walk was most of json_decode's cost (26 -> 15 us for a 1 KB document).


def _ready_dict(value: dict, depth: int, count: list[int]) -> dict:
    if depth >= MAX_JSON_DEPTH:
        raise _too_deep()
    count[0] += 1
    count[1] += len(value)
    out = {}
    for k, v in value.items():
        kind = type(v)
        if kind is str:
            v = v.encode()
        elif kind is dict:
            v = _ready_dict(v, depth + 1, count)
        elif kind is list:
            v = _ready_list(v, depth + 1, count)
        elif kind is int and not -_INT64 <= v < _INT64:
            v = float(v)
        out[k.encode()] = v
    return out


def _ready_list(value: list, depth: int, count: list[int]) -> list:
    if depth >= MAX_JSON_DEPTH:
        raise _too_deep()
    count[0] += 1
    count[2] += len(value)
    out = []
    append = out.append
    for v in value:
        kind = type(v)
        if kind is str:
            v = v.encode()
        elif kind is dict:
            v = _ready_dict(v, depth + 1, count)
        elif kind is list:
            v = _ready_list(v, depth + 1, count)
        elif kind is int and not -_INT64 <= v < _INT64:
            v = float(v)
        append(v)
    return out


def _lua_ready(value: object, count: list[int]) -> object:
    kind = type(value)
    if kind is dict:
        return _ready_dict(value, 0, count)  # type: ignore[arg-type]
    if kind is list:
        return _ready_list(value, 0, count)  # type: ignore[arg-type]
    if kind is str:
        return value.encode()  # type: ignore[union-attr]
    if kind is int and not -_INT64 <= value < _INT64:  # type: ignore[operator]
        return float(value)  # type: ignore[arg-type]
    return value


# What LuaJIT (GC64) takes per table, per hash entry and per array slot, rounded up; strings are
# bounded by the document's own length. Used to refuse a decode that cannot fit under the cap
# before any table is built (issue 13: `[[],[],...]` is ~22 bytes of heap per byte of JSON).
_TABLE_BYTES, _ENTRY_BYTES, _SLOT_BYTES = 64, 40, 16


def json_decode_sized(text: object) -> tuple[object, int]:
    """json_decode's result and a bound on the Lua heap its tables and strings take."""
    data = _required(text, "expects JSON string")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise NkArgError(f"not a valid JSON string: {exc}") from None
    count = [0, 0, 0]  # tables, hash entries, array slots
    ready = _lua_ready(value, count)
    return ready, count[0] * _TABLE_BYTES + count[1] * _ENTRY_BYTES + count[2] * _SLOT_BYTES + len(data) * 2


def json_decode(text: object) -> object:
    """Parse JSON into Lua-ready Python data: dicts with bytes keys, lists, bytes, int, float,
    bool and None (null, which becomes nil, so the key disappears as in Nakama). The result can
    go straight to ``table_from(recursive=True)`` without another walk.

    Differences from Go's decoder: invalid UTF-8 and lone surrogate escapes are refused (Go
    replaces them with U+FFFD), and nesting is capped at :data:`MAX_JSON_DEPTH`.
    """
    return json_decode_sized(text)[0]


# ----------------------------------------------------------------------------------------------
# base64 / base16

_NEWLINES = b"\r\n"
_PAD = ord("=")
_STD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_URL = _STD[:-2] + b"-_"
_STD_SYMBOLS = frozenset(_STD)
_URL_SYMBOLS = frozenset(_URL)
# Exactly what Go's padded decoder accepts once CR/LF (which it skips) are removed.
_STD_VALID = re.compile(rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_URL_VALID = re.compile(rb"(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?")
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


def _skip_newlines(data: bytes, i: int) -> int:
    while i < len(data) and data[i] in _NEWLINES:
        i += 1
    return i


def _base64_error_offset(data: bytes, symbols: frozenset[int]) -> int:
    """The byte offset Go's ``encoding/base64`` reports for input the fast check refused: it reads
    4-symbol quanta, skipping CR/LF; "=" may end a quantum only after 2 or 3 symbols."""
    i, n = 0, len(data)
    while True:
        got = 0
        while got < 4:
            if i == n:
                return i - got if got else n
            c = data[i]
            i += 1
            if c in symbols:
                got += 1
            elif c in _NEWLINES:
                continue
            elif c != _PAD or got < 2:
                return i - 1
            else:
                if got == 2:  # a second "=" must follow
                    i = _skip_newlines(data, i)
                    if i == n:
                        return n
                    if data[i] != _PAD:
                        return i - 1
                    i += 1
                return _skip_newlines(data, i)  # padding ends the input: anything after is bad


def _base64_encode(s: object, padding: bool, url: bool) -> bytes:
    data = _required(s, "expects string")
    out = base64.urlsafe_b64encode(data) if url else base64.b64encode(data)
    return out if padding else out.rstrip(b"=")


def _base64_decode(s: object, add_padding: bool, url: bool) -> bytes:
    data = _required(s, "expects string")
    if add_padding and len(data) % 4:
        data += b"=" * (4 - len(data) % 4)
    compact = data.translate(None, _NEWLINES)
    if not (_URL_VALID if url else _STD_VALID).fullmatch(compact):
        offset = _base64_error_offset(data, _URL_SYMBOLS if url else _STD_SYMBOLS)
        kind = "base64 url" if url else "base64"
        raise NkArgError(f"not a valid {kind} string: illegal base64 data at input byte {offset}")
    return base64.urlsafe_b64decode(compact) if url else binascii.a2b_base64(compact)


def base64_encode(s: object, padding: bool = True) -> bytes:
    """Standard base64; ``padding=False`` drops the "=" padding."""
    return _base64_encode(s, padding, url=False)


def base64_decode(s: object, padding: bool = True) -> bytes:
    """Standard base64. With ``padding=True`` (the default) missing "=" padding is added first, so
    both padded and unpadded input decode; with ``False`` the input must be padded."""
    return _base64_decode(s, add_padding=padding, url=False)


def base64url_encode(s: object, padding: bool = True) -> bytes:
    """URL-safe base64 ("-" and "_"); ``padding=False`` drops the padding."""
    return _base64_encode(s, padding, url=True)


def base64url_decode(s: object, padding: bool = False) -> bytes:
    """URL-safe base64. Nakama reads this flag the other way round from base64_decode: by default
    (``False``) missing padding is added; ``True`` requires padded input. Kept for compatibility."""
    return _base64_decode(s, add_padding=not padding, url=True)


def _hex_byte_error(byte: int) -> str:
    """Go's ``InvalidByteError`` text, which formats the byte as a rune with ``%#U``."""
    char = chr(byte)
    shown = f" '{char}'" if char.isprintable() else ""
    return f"encoding/hex: invalid byte: U+{byte:04X}{shown}"


def base16_encode(s: object) -> bytes:
    """Lowercase hex."""
    return binascii.hexlify(_required(s, "expects string"))


def base16_decode(s: object) -> bytes:
    """Hex of either case; errors name the first bad byte, else the odd length, as Go does."""
    data = _required(s, "expects string")
    try:
        return binascii.unhexlify(data)
    except binascii.Error:
        bad = next((b for b in data if b not in _HEX_DIGITS), None)
        cause = "encoding/hex: odd length hex string" if bad is None else _hex_byte_error(bad)
        raise NkArgError(f"not a valid base16 string: {cause}") from None



# ----------------------------------------------------------------------------------------------
# Hashes and random bytes


def _hex_digest(algorithm: str, s: object) -> bytes:
    data = _required(s, "expects input string")
    return hashlib.new(algorithm, data).hexdigest().encode()


def md5_hash(s: object) -> bytes:
    """MD5 as lowercase hex."""
    return _hex_digest("md5", s)


def sha256_hash(s: object) -> bytes:
    """SHA-256 as lowercase hex."""
    return _hex_digest("sha256", s)


def hmac_sha256_hash(s: object, key: object) -> bytes:
    """HMAC-SHA256 of ``s`` as raw bytes (not hex), as Nakama returns it."""
    data = _required(s, "expects input string")
    secret = _required(key, "expects key string", 2)
    return hmac.digest(secret, data, "sha256")


def secure_random_bytes(n: object) -> bytes:
    """``n`` bytes from the OS CSPRNG. Not in Nakama's Lua module; bounded by
    :data:`MAX_RANDOM_BYTES` because the buffer lives outside the VM's memory cap."""
    number = isinstance(n, (int, float)) and not isinstance(n, bool)
    if not (number and 0 <= n <= MAX_RANDOM_BYTES and n == int(n)):  # type: ignore[operator]
        raise NkArgError(f"expects a whole number of bytes from 0 to {MAX_RANDOM_BYTES}", 1)
    return secrets.token_bytes(int(n))  # type: ignore[arg-type]


def bcrypt_hash(s: object) -> bytes:
    """A bcrypt hash at Go's default cost, with Go's "$2a$" prefix so hashes move freely
    between Nakama and nkhost."""
    password = _required(s, "expects string")
    if len(password) > BCRYPT_MAX_PASSWORD:
        raise NkArgError("error hashing input: bcrypt: password length exceeds 72 bytes")
    return _bcrypt.hashpw(password, _bcrypt.gensalt(rounds=BCRYPT_COST, prefix=b"2a"))


def bcrypt_compare(hash: object, plaintext: object) -> bool:
    """Whether ``plaintext`` matches the bcrypt ``hash``. A too-short hash is simply false (as in
    Nakama); a malformed one is an error. Go reads at most 72 password bytes, so we do too."""
    hashed = _required(hash, "expects string")
    password = _required(plaintext, "expects string", 2)
    if len(hashed) < BCRYPT_MIN_HASH:
        return False
    try:
        return _bcrypt.checkpw(password[:BCRYPT_MAX_PASSWORD], hashed)
    except ValueError:
        raise NkArgError("error comparing hash and plaintext: invalid bcrypt hash") from None


# ----------------------------------------------------------------------------------------------
# AES, as Nakama does it: CFB mode with a random IV prepended to the raw ciphertext. Encryption
# first pads the input with spaces to a multiple of 4 bytes, and decryption does not strip them
# (Nakama's quirk, kept so data round-trips between the two servers).

_AES_IV = 16


def _aes_args(s: object, key: object, key_size: int) -> tuple[bytes, bytes]:
    data = _required(s, "expects string")
    secret = string_arg(key, 2)
    if len(secret) != key_size:
        raise NkArgError(f"expects key {key_size} bytes long", 2)
    return data, secret


def _aes_encrypt(s: object, key: object, key_size: int) -> bytes:
    data, secret = _aes_args(s, key, key_size)
    if len(data) % 4:
        data += b" " * (4 - len(data) % 4)
    iv = secrets.token_bytes(_AES_IV)
    encryptor = Cipher(algorithms.AES(secret), CFB(iv)).encryptor()
    return iv + encryptor.update(data) + encryptor.finalize()


def _aes_decrypt(s: object, key: object, key_size: int) -> bytes:
    data, secret = _aes_args(s, key, key_size)
    if len(data) < _AES_IV:
        raise NkArgError("input too short")
    decryptor = Cipher(algorithms.AES(secret), CFB(data[:_AES_IV])).decryptor()
    return decryptor.update(data[_AES_IV:]) + decryptor.finalize()


def aes128_encrypt(s: object, key: object) -> bytes:
    """AES-128-CFB with a 16-byte key; returns IV + ciphertext (raw bytes)."""
    return _aes_encrypt(s, key, 16)


def aes128_decrypt(s: object, key: object) -> bytes:
    """Inverse of aes128_encrypt (the space padding stays)."""
    return _aes_decrypt(s, key, 16)


def aes256_encrypt(s: object, key: object) -> bytes:
    """AES-256-CFB with a 32-byte key; returns IV + ciphertext (raw bytes)."""
    return _aes_encrypt(s, key, 32)


def aes256_decrypt(s: object, key: object) -> bytes:
    """Inverse of aes256_encrypt (the space padding stays)."""
    return _aes_decrypt(s, key, 32)


# ----------------------------------------------------------------------------------------------
# UUIDs and time

# The text forms gofrs/uuid accepts: canonical (8-4-4-4-12) or 32 plain hex digits, either one
# optionally in braces or after "urn:uuid:".
_UUID_CORE = re.compile(
    rb"[0-9a-fA-F]{8}(-?)[0-9a-fA-F]{4}\1[0-9a-fA-F]{4}\1[0-9a-fA-F]{4}\1[0-9a-fA-F]{12}"
)


def uuid_v4() -> bytes:
    """A random UUID in the 36-character lowercase form."""
    return str(uuid.uuid4()).encode()


def uuid_bytes_to_string(b: object) -> bytes:
    """The 36-character form of a 16-byte UUID."""
    raw = _required(b, "expects a UUID byte string")
    if len(raw) != 16:
        raise NkArgError("not a valid UUID byte string", 1)
    return str(uuid.UUID(bytes=raw)).encode()


def uuid_string_to_bytes(s: object) -> bytes:
    """The 16 raw bytes of a UUID given in any text form gofrs/uuid accepts."""
    text = _required(s, "expects a UUID string")
    core = text
    if core.startswith(b"urn:uuid:"):
        core = core[9:]
    elif core[:1] == b"{" and core[-1:] == b"}":
        core = core[1:-1]
    if not _UUID_CORE.fullmatch(core):
        raise NkArgError("not a valid UUID string", 1)
    return bytes.fromhex(core.replace(b"-", b"").decode())


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to a proleptic Gregorian date, for any year (month 1..12)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _int_field(fields: Mapping[bytes, object], name: bytes, default: int) -> int:
    value = fields.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    return default


def time(fields: Mapping[bytes, object] | None = None) -> int:
    """UTC milliseconds since the epoch: now, or of the date in ``fields`` (Nakama's
    ``nk.time(tbl)``: keys year, month, day, hour, min, sec, msec; missing ones default as in
    Nakama, hour to 12 and year/month/day to -1; out-of-range values carry over as in Go's
    ``time.Date``)."""
    if fields is None:
        return _time.time_ns() // 1_000_000
    month = _int_field(fields, b"month", -1) - 1
    year = _int_field(fields, b"year", -1) + month // 12
    days = _days_from_civil(year, month % 12 + 1, 1) + _int_field(fields, b"day", -1) - 1
    hours = days * 24 + _int_field(fields, b"hour", 12)
    minutes = hours * 60 + _int_field(fields, b"min", 0)
    seconds = minutes * 60 + _int_field(fields, b"sec", 0)
    return seconds * 1000 + _int_field(fields, b"msec", 0)
