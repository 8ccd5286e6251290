"""Fixtures for the browser tests: a headless Chromium (skipped when it is not installed) and a screenshot folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.chrome import missing, start_chrome
from tests.support.server import Server


@pytest.fixture
def chrome(tmp_path: Path) -> Iterator[Any]:
    if missing():
        pytest.skip(f"headless browser tests need {' and '.join(missing())} (apt-get install chromium chromium-driver)")
    driver = start_chrome(tmp_path / "chrome-profile")
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: $GANSERVE_SCREENSHOT_DIR when set (to keep them), else the test's tmp dir."""
    out = Path(os.environ.get("GANSERVE_SCREENSHOT_DIR") or tmp_path / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def playground_url(server: Server) -> str:
    return server.url + "/"
