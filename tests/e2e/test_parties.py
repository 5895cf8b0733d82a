"""Parties with the real @heroiclabs/nakama-js client against a real nkhost process."""

from __future__ import annotations

import json

import pytest

from tests.e2e.harness import nkhost_process, ok, run_scenarios

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    with nkhost_process(tmp_path_factory) as port:
        yield run_scenarios("parties.cjs", port)


def test_open_party_create_join_and_leave(results):
    r = ok(results, "open_party")
    assert r["party_id"].endswith(".nakama") and r["open"] is True and r["max_size"] == 3
    assert r["self_is_leader"] and r["creator"]
    assert r["pushed_party_id"] == r["party_id"] and r["pushed_members"] == r["expected_members"]
    assert r["join_event_party"] == r["party_id"] and r["leaver"]


def test_closed_party_request_accept_promote_data_close(results):
    r = ok(results, "closed_party")
    assert r["open"] is False
    assert r["asked_user"] and r["listed_users"] == [True]
    assert r["joined_members"] == 2 and r["joined_leader_is_a"]
    assert r["new_leaders"] == [True, True]
    assert (r["data_op_code"], r["data_text"], r["data_from_b"]) == (5, "hello party", True)
    assert r["closed"] == [True, True]


def test_errors_are_nakamas_and_keep_the_socket_open(results):
    r = ok(results, "errors_keep_the_socket")
    assert r["errors"] == [
        {"code": 3, "message": "Error joining party: party not found"},
        {"code": 3, "message": "Invalid party ID"},
        {"code": 3, "message": "Invalid party max size, must be 1-256"},
    ]
    assert r["matchmaking"] == {"code": 1, "message": "Party matchmaking is not supported."}
    assert json.loads(r["rpc_payload"]) == {"still": "open"}
