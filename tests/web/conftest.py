"""Browser fixtures: Debian's Chromium driven by Playwright, the app on a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chatbot.api.app import create_app
from chatbot.container import Container
from tests.api.conftest import api_settings
from tests.fakes import uvicorn_in_thread


@pytest.fixture(scope="module")
def live_url(
    sample_container: Container, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app over the sample index on a free loopback port."""
    from tests.api.conftest import staff_keys_setting

    settings = api_settings(tmp_path_factory.mktemp("web"), staff_keys=staff_keys_setting())
    with uvicorn_in_thread(create_app(settings, sample_container), lifespan="on") as url:
        yield url
