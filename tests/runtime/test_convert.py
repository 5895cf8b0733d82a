"""convert._plain: the exact-type fast path gives what the general (ABC) path gives."""

from __future__ import annotations

from collections import OrderedDict
from enum import Enum

import pytest

from host.runtime.convert import MAX_DEPTH, _plain, _plain_general


class Color(str, Enum):
    RED = "red"


VALUES = [
    {"channel_message_send": {"channel_id": "2.room", "content": "{\"a\":1}"}, "cid": "7"},
    {"account": {"id": "x", "vars": {"a": "b"}}, "create": True, "username": "bob", "n": 1, "f": 1.5, "gone": None},
    [1, "two", b"three", None, [True, {"k": ["v"]}], ()],
    {"t": ("a", "b"), "o": OrderedDict(z="1"), "e": Color.RED, Color.RED: "enum key", 3: "int key"},
    "plain", b"bytes", 7, None,
]


@pytest.mark.parametrize("value", VALUES)
def test_fast_path_matches_the_general_path(value):
    got = _plain(value, 0)
    assert got == _plain_general(value, 0)
    assert type(got) is type(_plain_general(value, 0))


def test_depth_limit_and_refusals_are_unchanged():
    deep: list = []
    inner = deep
    for _ in range(MAX_DEPTH):
        inner.append([])
        inner = inner[0]
    with pytest.raises(ValueError, match="nested deeper"):
        _plain(deep, 0)
    _plain(deep[0], 0)  # one level less is fine
    with pytest.raises(TypeError, match="cannot pass a set"):
        _plain({"a": {1}}, 0)
