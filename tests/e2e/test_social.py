"""Friends, groups and users with the real @heroiclabs/nakama-js client against a real nkhost process."""

from __future__ import annotations

import pytest

from tests.e2e.harness import nkhost_process, ok, run_scenarios

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    with nkhost_process(tmp_path_factory) as port:
        yield run_scenarios("social.cjs", port)


def test_friends_add_list_accept_delete_block_and_get_users(results):
    r = ok(results, "friends")
    code, subject, username, from_a = r["request"]
    assert code == -2 and subject == f"{username} wants to add you as a friend" and from_a
    assert r["invited"] == r["expected_invited"]
    assert r["mutual"] == [[r["b_id"], 0]]
    assert r["paged"] == r["expected_paged"] and r["last_cursor"]
    assert r["self"] == {"status": 400, "body": {"code": 3, "message": "Cannot add self as friend."}}
    assert r["after_block"] == 0 and r["blocked"] == [[r["a_id"], 3]]
    assert r["users"] == r["expected_users"]


def test_groups_every_endpoint(results):
    r = ok(results, "groups")
    owner, joiner, added = r["ids"]
    assert r["created"] == [r["name"], True, 1, 10, True]
    assert r["members"] == [[owner, 0], [joiner, 2], [added, 2]]
    assert r["promoted"] == [joiner] and r["banned"] == [joiner] and r["left"] == [owner]
    assert r["mine"] == [[True, 0, f"{r['name']} II", "de"]]
    assert r["listed"] == [[True, 1]]
    assert r["taken"] == {"status": 409, "body": {"code": 6, "message": "Group name is in use."}}
    assert r["not_admin"] == {"status": 404, "body": {"code": 5, "message": "Group not found or permission denied."}}
    assert r["last_admin"] == {"status": 400, "body": {"code": 3, "message": "Cannot leave group when you are the last superadmin."}}
    assert r["gone"] == 0
