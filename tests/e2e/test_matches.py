"""Matches with the real @heroiclabs/nakama-js client against a real nkhost process."""

from __future__ import annotations

import pytest

from tests.e2e.harness import nkhost_process, ok, run_scenarios

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    with nkhost_process(tmp_path_factory) as port:
        yield run_scenarios("matches.cjs", port)


def test_relayed_match_create_join_data_and_leave(results):
    r = ok(results, "relayed")
    assert r["match_id"].endswith(".") and r["created_size"] == 1 and not r["authoritative"]
    assert r["joined_id"] == r["match_id"] and r["joined_presences"] == [r["a_user"]]
    assert (r["op_code"], r["data"], r["sender"]) == (7, "hello relay", r["b_user"])
    assert r["echoed"] is False  # the sender never gets its own data
    assert r["left_user"] == r["a_user"]


def test_authoritative_match_made_by_an_rpc_plays_to_the_end(results):
    r = ok(results, "authoritative")
    assert r["match_id"].endswith(".nakama") and r["same_id"] and r["authoritative"]
    assert r["label"] == '{"open":true}'
    assert r["marks"] == {r["x_user"]: 1, r["o_user"]: 2}
    assert r["match_id"] in r["listed"]  # listable at once, by its label (a seat is free)
    assert (r["winner"], r["winner_user"], r["board"]) == (1, r["x_user"], [1, 1, 1, 2, 2, 0, 0, 0, 0])
