"""Debian's chromium driven by Playwright, on a phone-sized page: one fixture for every browser test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from piclient.demo.dashboard_shots import CHROMIUM, CHROMIUM_ARGS

needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists() and not shutil.which("chromium"),
                                    reason="Debian's chromium is not installed: apt-get install chromium")


@pytest.fixture
def phone_page() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        # Never `playwright install`: the machine's own chromium, with its network chatter switched off.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})  # a phone
            page = context.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()
