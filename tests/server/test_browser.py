"""The dashboard in a real browser (Debian's chromium driven by Playwright), fed by heartbeats from the test."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import needs_chromium
from tests.server.helpers import PASSWORD, RunningServer, jpeg, running_server, send_heartbeat, upload_screenshot

pytestmark = needs_chromium


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with running_server(tmp_path) as running:
        running.set_password()
        yield running


def test_the_maintainer_logs_in_sees_the_box_and_presses_a_key_that_reaches_it(server: RunningServer,
                                                                              phone_page: object) -> None:
    from playwright.sync_api import Page, expect

    page: Page = phone_page  # type: ignore[assignment]
    name, token = server.add_device("Living room")
    send_heartbeat(server, token, tv={"state": "running", "screen": "home",
                                      "now_playing": {"id": "spring-day", "title": "Spring Day", "position": 60,
                                                      "duration": 5400, "paused": False}})
    assert upload_screenshot(server, token, jpeg(colour=(200, 30, 30))).status_code == 200

    page.goto(server.url + "/")
    expect(page).to_have_url(f"{server.url}/login?next=/")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    card = page.locator(f'li.device:has(h2:text-is("{name}"))')
    expect(card.locator(".badge")).to_have_text("Online")
    expect(card.locator('[data-field="now_playing"]')).to_contain_text("Spring Day")
    thumb = card.locator("img.thumb")
    expect(thumb).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())

    card.locator("a").click()
    shot = page.locator("#screenshot")
    expect(shot).to_be_visible()
    first_shot = shot.get_attribute("data-shot-id")
    page.click('[data-key="ok"]')
    expect(page.locator("#send-status")).to_contain_text("ok")

    # The box's next heartbeat carries the key press (and live mode, since the page is open).
    reply = send_heartbeat(server, token).json()
    assert [(c["type"], c["args"]) for c in reply["commands"]] == [("key", {"name": "ok"})]
    assert reply["live"] is not None
    send_heartbeat(server, token, results=[{"command_id": reply["commands"][0]["id"], "ok": True, "result": {},
                                            "error": None}])
    expect(page.locator("#commands tr").first).to_contain_text("done")

    # A new screenshot appears by itself.
    assert upload_screenshot(server, token, jpeg(colour=(30, 200, 30))).status_code == 200
    deadline = time.monotonic() + 15
    while shot.get_attribute("data-shot-id") == first_shot and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert shot.get_attribute("data-shot-id") != first_shot
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=shot.element_handle())
