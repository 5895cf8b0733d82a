"""Stream ids: (mode, subject, subcontext, label), the key of every presence list."""

from __future__ import annotations

import uuid
from enum import IntEnum
from typing import Any, NamedTuple

from .errors import InvalidStream

__all__ = [
    "StreamMode",
    "StreamId",
    "MODE_NOTIFICATIONS",
    "MODE_STATUS",
    "MODE_CHANNEL",
    "MODE_GROUP",
    "MODE_DM",
    "MODE_MATCH_RELAYED",
    "MODE_MATCH_AUTHORITATIVE",
    "MODE_PARTY",
    "canonical_uuid",
]


class StreamMode(IntEnum):
    """The reserved built-in modes; every other value 8-255 is a custom stream."""

    NOTIFICATIONS = 0
    STATUS = 1
    CHANNEL = 2
    GROUP = 3
    DM = 4
    MATCH_RELAYED = 5
    MATCH_AUTHORITATIVE = 6
    PARTY = 7


MODE_NOTIFICATIONS = StreamMode.NOTIFICATIONS
MODE_STATUS = StreamMode.STATUS
MODE_CHANNEL = StreamMode.CHANNEL
MODE_GROUP = StreamMode.GROUP
MODE_DM = StreamMode.DM
MODE_MATCH_RELAYED = StreamMode.MATCH_RELAYED
MODE_MATCH_AUTHORITATIVE = StreamMode.MATCH_AUTHORITATIVE
MODE_PARTY = StreamMode.PARTY

_NIL_UUID = "00000000-0000-0000-0000-000000000000"


def canonical_uuid(value: Any, field: str) -> str | None:
    """Return the canonical lowercase form of a UUID string; None for unset.

    None and the nil UUID mean "unset", as in Nakama where a nil UUID is
    omitted on the wire.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidStream(field, f"must be a string, got {type(value).__name__}")
    if len(value) == 36 and value.islower() and value[8] == "-":
        text = value  # fast path for the already canonical form
        try:
            uuid.UUID(text)
        except ValueError:
            raise InvalidStream(field, f"must be a valid identifier: {value!r}") from None
    else:
        try:
            text = str(uuid.UUID(value))
        except ValueError:
            raise InvalidStream(field, f"must be a valid identifier: {value!r}") from None
    return None if text == _NIL_UUID else text


class _StreamFields(NamedTuple):
    mode: int
    subject: str | None
    subcontext: str | None
    label: str


class StreamId(_StreamFields):
    """A validated, hashable stream id.

    A tuple underneath, so hashing and equality run in C: the tracker does a
    dict lookup by stream on every operation.
    """

    __slots__ = ()

    def __new__(
        cls,
        mode: int,
        subject: str | None = None,
        subcontext: str | None = None,
        label: str = "",
    ) -> StreamId:
        if isinstance(mode, bool) or not isinstance(mode, int):
            raise InvalidStream("mode", f"must be an integer 0-255, got {type(mode).__name__}")
        if not 0 <= mode <= 255:
            raise InvalidStream("mode", f"must be an integer 0-255, got {mode}")
        if not isinstance(label, str):
            raise InvalidStream("label", f"must be a string, got {type(label).__name__}")
        return tuple.__new__(
            cls,
            (int(mode), canonical_uuid(subject, "subject"), canonical_uuid(subcontext, "subcontext"), label),
        )

    def __getnewargs__(self) -> tuple[int, str | None, str | None, str]:
        return (self.mode, self.subject, self.subcontext, self.label)

    @property
    def reserved(self) -> bool:
        """True for the built-in modes 0-7."""
        return self.mode <= 7

    def to_wire(self) -> dict[str, Any]:
        """The client form: Nakama omits zero values (mode 0, unset ids, empty label)."""
        out: dict[str, Any] = {}
        if self.mode:
            out["mode"] = self.mode
        if self.subject is not None:
            out["subject"] = self.subject
        if self.subcontext is not None:
            out["subcontext"] = self.subcontext
        if self.label:
            out["label"] = self.label
        return out
