"""The preview page in a real browser: sign in, and the first video really plays, with captions."""

from __future__ import annotations

import pytest

from tests.asgi_server import serving
from tests.browser import Browser, chromium_path
from tests.conftest import REQUIRE_SERVICES
from tests.preview_site import PREVIEW_AUTH, USERS, authorization, render_users
from worker.settings import reload_settings
from worker.web.app import create_app

pytestmark = pytest.mark.slow


@pytest.fixture
def chromium() -> str:
    executable = chromium_path()
    if executable is None:
        if REQUIRE_SERVICES:
            pytest.fail("chromium is not installed; .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return executable


def test_the_first_video_plays_with_its_captions(sqlite_configured, monkeypatch, chromium):
    monkeypatch.setenv("VIDEO_PREVIEW_AUTH", PREVIEW_AUTH)
    settings = reload_settings()
    render_users(USERS[:2])
    with serving(create_app(settings)) as base, Browser(chromium) as browser:
        browser.open(f"{base}/")
        assert browser.evaluate("document.querySelectorAll('article, video').length") == 0, "anonymous: refused"
        browser.open(f"{base}/", headers=authorization())
        assert browser.evaluate("document.querySelectorAll('article').length") == 2
        first = "document.querySelector('video')"
        browser.evaluate(f"{first}.play()")
        assert browser.wait_for(f"{first}.readyState >= 3 && {first}.readyState", timeout_s=30) >= 3
        start = browser.evaluate(f"{first}.currentTime")
        browser.wait_for(f"{first}.currentTime > {start} + 0.5", timeout_s=30)
        cues = browser.wait_for(
            f"{first}.textTracks.length && {first}.textTracks[0].cues && {first}.textTracks[0].cues.length",
            timeout_s=30,
        )
        assert cues >= 3
        text = browser.evaluate(f"Array.from({first}.textTracks[0].cues).map(c => c.text).join(' ')")
        assert "Card ending in 4735" in text and "Pay down $928" in text and "not financial advice" in text
        assert browser.evaluate(f"{first}.videoWidth") == 1280
