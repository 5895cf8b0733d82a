"""protojson field kinds beyond plain JSON types, for ``SocketDoor.fields``.

The pipeline checks a field with ``isinstance(value, kind)``. These kinds answer that check
the way protojson reads the field, so a value protojson refuses closes the socket at parse
time ("received malformed payload"), before any hook runs, exactly like a wrong JSON type:

* ``Int32`` / ``Int64``: a JSON integer, or a string of one (protojson takes both), in range;
* ``Bytes``: a base64 string, standard or URL alphabet, padded or not;
* ``message_kind(name, fields)``: a nested message, an object whose keys are the fields'
  proto or lowerCamel names with values of their kinds (``null`` is the default).

``int_value``, ``bytes_value`` and ``message_value`` read a checked value.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["Int32", "Int64", "Bytes", "message_kind", "int_value", "bytes_value", "message_value"]

_INT_TEXT = re.compile(r"[+-]?[0-9]+")


class _Kind(type):
    """A kind is a class whose instance check is its ``accepts``."""

    def __instancecheck__(cls, value: Any) -> bool:
        return cls.accepts(value)  # type: ignore[attr-defined]


def _int_in(value: Any, bits: int) -> bool:
    if type(value) is int:
        n = value
    elif type(value) is str and _INT_TEXT.fullmatch(value):
        n = int(value)
    else:
        return False
    return -(1 << (bits - 1)) <= n < (1 << (bits - 1))


class Int32(metaclass=_Kind):
    @staticmethod
    def accepts(value: Any) -> bool:
        return _int_in(value, 32)


class Int64(metaclass=_Kind):
    @staticmethod
    def accepts(value: Any) -> bool:
        return _int_in(value, 64)


def int_value(value: Any) -> int:
    """A checked Int32/Int64 field as an int; an absent one (None) is 0."""
    return 0 if value is None else int(value)


class Bytes(metaclass=_Kind):
    @staticmethod
    def accepts(value: Any) -> bool:
        return type(value) is str and _decode(value) is not None


def _decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def bytes_value(value: Any) -> bytes:
    """A checked Bytes field decoded; an absent one is b""."""
    return b"" if value is None else _decode(value) or b""


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def message_kind(name: str, fields: Mapping[str, Any]) -> type:
    """The kind of a nested message with these fields (proto name -> kind)."""
    by_name = {alias: (field, kind) for field, kind in fields.items() for alias in (field, _camel(field))}

    def accepts(value: Any) -> bool:
        if type(value) is not dict:
            return False
        for key, item in value.items():
            spec = by_name.get(key)
            if spec is None:
                return False
            kind = spec[1]
            if item is not None and (not isinstance(item, kind) or (type(item) is bool and kind is not bool)):
                return False
        return True

    return _Kind(name, (), {"accepts": staticmethod(accepts), "fields": by_name})


def message_value(kind: type, value: Any) -> dict[str, Any]:
    """A checked nested message with proto field names and nulls dropped; absent is {}."""
    if value is None:
        return {}
    by_name = kind.fields  # type: ignore[attr-defined]
    return {by_name[key][0]: item for key, item in value.items() if item is not None}
