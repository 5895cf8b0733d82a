"""Random ids for records that need to be unique, not secret.

``uuid.uuid4()`` reads ``os.urandom``: a syscall that releases the GIL, costly when Lua
workers hold it (the trace id of every call measured ~28 µs in a profile). A notification
or message id is never a secret (every read and delete checks its owner), so the
Mersenne Twister's 122 random bits are enough.
"""

from __future__ import annotations

from random import getrandbits

__all__ = ["random_uuid4"]

_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))  # version nibble, variant bits
_V4_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant


def random_uuid4() -> str:
    """A version-4 UUID string (canonical form) from the process's PRNG."""
    h = "%032x" % (getrandbits(128) & _V4_CLEAR | _V4_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
