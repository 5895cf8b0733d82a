"""Stream ids: validation naming the field, canonical UUIDs, reserved modes, wire form."""

from __future__ import annotations

import uuid

import pytest

from host.streams import InvalidStream, StreamId, StreamMode
from host.streams import stream as stream_module

U = "6f1d9a4e-2c1b-4b8e-9a55-0c5f0a3c9d11"


@pytest.mark.parametrize("mode", [-1, 256, 1000])
def test_out_of_range_mode_is_rejected_naming_mode(mode):
    with pytest.raises(InvalidStream) as info:
        StreamId(mode)
    assert info.value.field == "mode"
    assert "mode" in str(info.value)


@pytest.mark.parametrize("mode", [1.5, "2", None, True, 2.0])
def test_non_integer_mode_is_rejected(mode):
    with pytest.raises(InvalidStream) as info:
        StreamId(mode)
    assert info.value.field == "mode"


@pytest.mark.parametrize("field", ["subject", "subcontext"])
@pytest.mark.parametrize("bad", ["not-a-uuid", "", "1234", 42])
def test_malformed_uuid_is_rejected_naming_the_field(field, bad):
    with pytest.raises(InvalidStream) as info:
        StreamId(2, **{field: bad})
    assert info.value.field == field
    assert field in str(info.value)


@pytest.mark.parametrize("bad", [None, 5, b"bytes", ["x"]])
def test_non_string_label_is_rejected(bad):
    with pytest.raises(InvalidStream) as info:
        StreamId(2, label=bad)
    assert info.value.field == "label"


def test_invalid_stream_is_a_value_error():
    assert issubclass(InvalidStream, ValueError)


def test_uuids_are_canonicalised_so_equal_ids_hash_equal():
    upper = StreamId(3, U.upper())
    braces = StreamId(3, "{" + U + "}")
    plain = StreamId(3, U)
    assert upper == braces == plain
    assert hash(upper) == hash(plain)
    assert plain.subject == U
    assert len({upper, braces, plain}) == 1


def test_nil_uuid_means_unset():
    assert StreamId(3, str(uuid.UUID(int=0))).subject is None


def test_stream_id_is_a_cheap_hashable_key():
    a = StreamId(20, label="room")
    assert {a: 1}[StreamId(20, None, None, "room")] == 1
    assert a != StreamId(21, label="room")
    assert a != StreamId(20, label="Room")


def test_reserved_modes_are_named_constants():
    assert [m.value for m in StreamMode] == list(range(8))
    assert StreamMode.NOTIFICATIONS == stream_module.MODE_NOTIFICATIONS == 0
    assert stream_module.MODE_STATUS == 1
    assert stream_module.MODE_CHANNEL == 2
    assert stream_module.MODE_GROUP == 3
    assert stream_module.MODE_DM == 4
    assert stream_module.MODE_MATCH_RELAYED == 5
    assert stream_module.MODE_MATCH_AUTHORITATIVE == 6
    assert stream_module.MODE_PARTY == 7
    assert StreamId(7).reserved and not StreamId(8).reserved


def test_wire_form_omits_zero_values():
    assert StreamId(0).to_wire() == {}
    assert StreamId(20, label="Stream Data Test").to_wire() == {"mode": 20, "label": "Stream Data Test"}
    assert StreamId(4, U, U).to_wire() == {"mode": 4, "subject": U, "subcontext": U}
