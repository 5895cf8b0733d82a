"""Notifications and status with the real @heroiclabs/nakama-js client against a real nkhost process."""

from __future__ import annotations

import pytest

from tests.e2e.harness import nkhost_process, ok, run_scenarios

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    with nkhost_process(tmp_path_factory) as port:
        yield run_scenarios("notifications.cjs", port)


def test_a_live_notification_then_listed_and_deleted(results):
    r = ok(results, "notifications")
    assert (r["subject"], r["content"], r["persistent"]) == ("welcome", {"gift": 5}, True)
    assert r["listed"] == [{"id": r["pushed_id"], "subject": "welcome", "content": {"gift": 5}}]
    assert r["cursor"] and r["after"] == 0 and r["left"] == 0


def test_silent_mode_stops_live_delivery_but_keeps_them_stored(results):
    r = ok(results, "silent_mode")
    assert r["heard"] == 0 and r["stored"] == ["quiet", "quiet too"]


def test_follow_a_users_status(results):
    r = ok(results, "status")
    assert r["followed"] == [{"user_id": r["star"], "status": ""}]  # online since it connected with status=true
    assert r["joins"] == [{"user_id": r["star"], "status": "on stage"}] and r["leaves"] == [""]
    assert r["after_unfollow"] == 0
