"""The browser demo (examples/web) in a real headless Chromium, served by nkhost's static route."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.e2e.harness import HERE, ROOT, nkhost_process, ok, run_scenarios

pytestmark = pytest.mark.e2e

WEB = ROOT / "examples" / "web"


def chromium() -> str:
    """The system Chromium (Debian's ``chromium``, which .ci/run installs); in CI its absence fails."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed (.ci/run installs it)", pytrace=False)
    pytest.skip("chromium is not installed: apt-get install -y chromium")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    browser = chromium()
    shots = tmp_path_factory.mktemp("screenshots")
    with nkhost_process(tmp_path_factory, "--web.static_dir", str(WEB)) as port:
        yield run_scenarios("browser.cjs", port, browser, str(shots))


def test_two_browser_pages_chat_and_play_one_match_to_the_end(results):
    r = ok(results, "two_pages_play")
    assert r["errors"] == []  # no page error and no failed load in either page
    assert r["match_id"].endswith(".nakama")
    for chat in (r["a_chat"], r["b_chat"]):
        assert any("hello from A" in line for line in chat) and any("hi from B" in line for line in chat)
    assert r["a_result"] == {"result": "win", "text": "You win!"}
    assert r["b_result"] == {"result": "lose", "text": "You lose."}
    assert r["board"] == ["X", "X", "X", "O", "O", "", "", "", ""]
    for file in r["screenshots"]:
        assert Path(file).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_vendored_nakama_js_is_the_tested_package():
    """examples/web/vendor holds the browser build of the nakama-js the e2e tests install."""
    package = HERE / "node_modules" / "@heroiclabs" / "nakama-js"
    assert (WEB / "vendor" / "nakama-js.esm.mjs").read_bytes() == (package / "dist" / "nakama-js.esm.mjs").read_bytes()
    assert "Apache License" in (WEB / "vendor" / "LICENSE-nakama-js").read_text()
