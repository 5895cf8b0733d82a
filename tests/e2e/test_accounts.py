"""Account updates and the wallet with the real @heroiclabs/nakama-js client, on a server of
each engine: ``updateAccount``, and ``getAccount`` showing the profile and the wallet that
lua_modules/shop.lua changed."""

from __future__ import annotations

import pytest

from tests.e2e.harness import ok, results_on_each_engine

pytestmark = pytest.mark.e2e
results =  results_on_each_engine("accounts.cjs")


def test_update_account_changes_what_get_account_shows(results):
    r = ok(results, "update_account")
    assert r["updated"] is True and r["cleared"] is True and r["before_wallet"] == "{}"
    user = r["user"]
    assert user["username"].startswith("alice-")
    assert (user["display_name"], user["avatar_url"], user["lang_tag"], user["location"], user["timezone"]) == (
        "Alice", "https://example.com/a.png", "fr", "Lyon", "Europe/Paris")
    assert r["last_display"] is None  # "" cleared it: omitted from the account


def test_update_account_refusals(results):
    r = ok(results, "update_refused")
    assert r["taken"] == {"status": 400, "body": {"code": 3, "message": "Username is already in use."}}
    assert r["nothing"] == {"status": 400, "body": {"code": 3, "message": "No fields to update."}}
    assert r["too_long"] == {"status": 400, "body": {"code": 3, "message": "Username invalid, must be 1-128 bytes."}}


def test_the_wallet_in_get_account(results):
    r = ok(results, "wallet_in_account")
    assert r["daily"] == {"granted": 100, "wallet": {"coins": 100}}
    assert r["bought"] == {"wallet": {"coins": 60, "potion": 1}}
    assert r["short"]["status"] == 400 and r["short"]["body"]["message"] == "not enough coins for sword"
    assert r["wallet"] == {"coins": 60, "potion": 1}
    assert r["reasons"] == ["buy", "daily"]
