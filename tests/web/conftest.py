"""Browser fixtures: Debian's Chromium driven by Playwright, the app on a real server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatbot.api.app import create_app
from chatbot.container import Container
from tests.api.conftest import api_settings
from tests.api.live import serve_in_thread

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (never downloaded by Playwright)."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (install Debian's chromium: make browser)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def live_url(
    sample_container: Container, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app over the sample index on a free loopback port."""
    from tests.api.conftest import staff_keys_setting

    settings = api_settings(tmp_path_factory.mktemp("web"), staff_keys=staff_keys_setting())
    with serve_in_thread(create_app(settings, sample_container)) as url:
        yield url
