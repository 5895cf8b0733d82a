"""Channel ids, room names, message times and history cursors: pure functions, no server."""

from __future__ import annotations

import uuid

import pytest

from host.errors import ApiError
from host.features.chat.channel import InvalidChannel, direct, group, parse_channel_id, room, room_name_problem
from host.features.chat.history import Cursor, decode_cursor
from host.features.chat.message import timestamp
from host.streams import StreamId

A, B = sorted(str(uuid.uuid4()) for _ in range(2))
G = str(uuid.uuid4())


def test_ids_name_their_streams_and_round_trip():
    assert room("lobby").id == "2...lobby" and room("lobby").stream == StreamId(2, label="lobby")
    assert group(G).id == f"3.{G}.." and group(G).identifiers() == {"group_id": G}
    assert direct(B, A).id == f"4.{A}.{B}." and direct(A, B).identifiers() == {"user_id_one": A, "user_id_two": B}
    assert direct(A, A).id == f"4.{A}.{A}."  # a self-DM
    for channel in (room("lobby"), room("a.b.c"), group(G), direct(A, B), direct(A, A)):
        assert parse_channel_id(channel.id) == channel
    assert parse_channel_id("2...a.b.c").stream.label == "a.b.c"  # everything after the third dot
    assert parse_channel_id(f"3.{G.upper()}..") == group(G)  # ids come back canonical


def test_a_dm_named_in_the_wrong_order_is_the_pairs_channel():
    """⚠ Nakama parses 4.<large>.<small>. as another stream nobody joined; it names the pair's DM here."""
    assert parse_channel_id(f"4.{B}.{A}.") == direct(A, B)


@pytest.mark.parametrize(
    "text",
    [
        "", "2", "2..", "2...", "2.x..lobby", "2..x.lobby", "2..." + "x" * 65, "2...bad\x01name", "2...del\x7f",
        "3...", f"3.{G}.x.", f"3.{G}..label", "3.nope..", f"3.{uuid.UUID(int=0)}..",  # ⚠ Nakama accepts 3... (a nil group)
        f"4.{A}..", f"4..{B}.", "4...", f"4.{A}.{B}.label", f"4.{A}.nope.",  # ⚠ Nakama accepts empty DM parts
        f"1.{A}..", f"5.{A}..", "02...lobby",
    ],
)
def test_ids_that_name_no_joinable_channel_are_refused(text):
    with pytest.raises(InvalidChannel):
        parse_channel_id(text)


def test_room_names_are_checked_like_nakama():
    assert room_name_problem("x" * 64) is None and room_name_problem("é" * 32) is None
    assert room_name_problem("") == room_name_problem("é" * 33) == "Channel name is required and must be 1-64 chars"
    assert room_name_problem("tab\there") == "Channel name must not contain control chars"
    assert room_name_problem("lone\ud800") == "Channel name must only contain valid UTF-8 bytes"


def test_timestamps_have_the_digits_they_need():
    assert timestamp(1_796_000_000_000_000) == "2026-11-30T00:53:20Z"
    assert timestamp(1_796_000_000_123_000) == "2026-11-30T00:53:20.123Z"
    assert timestamp(1_796_000_000_123_456) == "2026-11-30T00:53:20.123456Z"


def test_cursors_are_checked_field_by_field():
    channel = room("lobby")
    cursor = Cursor(channel.id, 17, str(uuid.uuid4()), True, False)
    assert decode_cursor(cursor.encode(), channel, True) == cursor
    for text, other, forward in [
        (cursor.encode(), room("other"), True),  # made for another channel
        (cursor.encode(), channel, False),  # made for the other direction
        ("not a cursor", channel, True),
        ("WyJ4Il0", channel, True),  # base64 of ["x"]
        (Cursor(channel.id, -1, cursor.message_id, True, True).encode(), channel, True),
        (Cursor(channel.id, 1, "nope", True, True).encode(), channel, True),
    ]:
        with pytest.raises(ApiError) as err:
            decode_cursor(text, other, forward)
        assert (err.value.code, err.value.message) == (3, "Cursor is invalid or expired.")
