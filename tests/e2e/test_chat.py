"""Chat with the real @heroiclabs/nakama-js client against a real nkhost process of each engine."""

from __future__ import annotations

import pytest

from tests.e2e.harness import ok, results_on_each_engine

pytestmark = pytest.mark.e2e

results = results_on_each_engine("chat.cjs")


def test_a_room_write_update_list_remove_and_leave(results):
    r = ok(results, "room")
    assert r["channel_id"] == "2..." + r["room_name"] and r["self_user"] and r["b_sees_a"]
    assert (r["ack_code"], r["ack_persistent"], r["ack_room"]) == (0, True, r["room_name"])
    assert r["heard"]["content"] == {"text": "hello", "n": 1} and r["heard"]["sender"] and r["heard"]["id"]
    assert r["updated"] == {"code": 1, "same_create": True, "content": {"text": "edited"}}
    assert r["pages"] == [[{"text": "edited"}, {"n": 2}], [{"n": 3}], [{"text": "edited"}, {"n": 2}]]
    assert r["cursors"] == [True, False, False, True]
    assert r["newest"] == [{"n": 3}]
    assert r["removed"] == {"code": 2, "pushed": 2, "content": {}}
    assert r["after"] == [{"n": 2}, {"n": 3}]
    assert r["left"]


def test_a_direct_message_invites_and_reaches_the_other_user(results):
    r = ok(results, "direct")
    assert r["same_channel"] and r["users"] == r["expected_users"]
    assert r["note"]["code"] == -1 and r["note"]["subject"].endswith(" wants to chat") and r["note"]["sender"]
    assert r["heard"] == {"content": {"text": "psst"}, "users": r["expected_users"]}
    assert r["listed"] == [{"text": "psst"}]


def test_group_chat_has_its_system_messages(results):
    r = ok(results, "group")
    assert r["channel_id"] == r["expected_id"] and r["group_id"]
    assert r["heard"] == {"content": {"text": "for the guild"}, "group_id": True}
    assert r["codes"] == [3, 0] and r["joined_by_b"]  # b joining the open group, then b's message


def test_errors_are_nakamas_and_keep_the_socket_open(results):
    r = ok(results, "errors_keep_the_socket")
    assert r["errors"] == [
        {"code": 3, "message": "Invalid channel target"},
        {"code": 3, "message": "Invalid user ID in direct message join: Invalid channel target"},
        {"code": 3, "message": "Must join channel before sending messages"},
        {"code": 3, "message": "Invalid channel identifier"},
    ]
    assert r["still_open"]
