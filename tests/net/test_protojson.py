"""protojson field kinds: what the pipeline's isinstance check accepts, and reading the values."""

from __future__ import annotations

import pytest

from host.net.protojson import Bytes, Int32, Int64, bytes_value, int_value, message_kind, message_value


@pytest.mark.parametrize(
    ("kind", "value", "ok"),
    [
        (Int32, 5, True), (Int32, "-5", True), (Int32, "+7", True), (Int32, (1 << 31) - 1, True),
        (Int32, 1 << 31, False), (Int32, "1e3", False), (Int32, " 5", False), (Int32, 5.0, False),
        (Int32, True, False), (Int32, None, False),
        (Int64, 1 << 62, True), (Int64, str(1 << 63), False), (Int64, "12", True),
        (Bytes, "", True), (Bytes, "AGhp", True), (Bytes, "AGh", True), (Bytes, "-_8", True), (Bytes, "A", False),
        (Bytes, "not base64!", False), (Bytes, 12, False),
    ],
)
def test_kinds(kind, value, ok):
    assert isinstance(value, kind) is ok


def test_values():
    assert (int_value("42"), int_value(None), int_value(-3)) == (42, 0, -3)
    assert (bytes_value("AGh"), bytes_value("-_8"), bytes_value(None)) == (b"\x00h", b"\xfb\xff", b"")


def test_nested_messages():
    kind = message_kind("UserPresence", {"user_id": str, "persistence": bool, "session_id": str})
    assert isinstance({"user_id": "u", "sessionId": "s", "persistence": None}, kind)
    assert not isinstance({"user_id": "u", "rank": 1}, kind)
    assert not isinstance({"user_id": 1}, kind)
    assert not isinstance({"persistence": 1}, kind)
    assert not isinstance({"user_id": True}, kind)
    assert not isinstance("u", kind)
    assert message_value(kind, {"userId": "u", "session_id": None}) == {"user_id": "u"}
    assert message_value(kind, None) == {}
