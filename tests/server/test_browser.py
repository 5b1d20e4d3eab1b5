"""The dashboard in a real browser (Debian's chromium driven by Playwright), fed by heartbeats from the test."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import needs_chromium
from tests.server.helpers import (
    PASSWORD,
    RunningServer,
    jpeg,
    now_playing,
    running_server,
    send_heartbeat,
    upload_screenshot,
)

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
                                      "now_playing": now_playing(title="Spring Day", position=60,
                                                                 duration=5400)})
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
    expect(page.locator("#send-status")).to_contain_text("Sent: OK")

    # The box's next heartbeat carries the key press, live mode (the page is open) and the page's
    # own request for a picture now.
    reply = send_heartbeat(server, token).json()
    assert [(c["type"], c["args"]) for c in reply["commands"]] == [("screenshot", {"live": True}),
                                                                   ("key", {"name": "ok"})]
    assert reply["live"] is not None
    send_heartbeat(server, token, results=[{"command_id": reply["commands"][1]["id"], "ok": True, "result": {},
                                            "error": None}])
    expect(page.locator("#commands li").first).to_contain_text("done")
    expect(page.locator("#commands li").first).to_contain_text("Key: OK")

    # A new screenshot appears by itself.
    assert upload_screenshot(server, token, jpeg(colour=(30, 200, 30))).status_code == 200
    deadline = time.monotonic() + 15
    while shot.get_attribute("data-shot-id") == first_shot and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert shot.get_attribute("data-shot-id") != first_shot
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=shot.element_handle())


def _in_view(page: object, selector: str) -> bool:
    box = page.locator(selector).bounding_box()  # type: ignore[attr-defined]
    viewport = page.viewport_size  # type: ignore[attr-defined]
    assert box is not None, selector
    return (box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]
            and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"])


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_on_a_phone_the_tvs_picture_and_the_arrow_keys_are_on_one_screen(server: RunningServer, phone_page: object,
                                                                         lang: str) -> None:
    from playwright.sync_api import Page, expect

    page: Page = phone_page  # type: ignore[assignment]
    assert page.viewport_size == {"width": 390, "height": 844}
    name, token = server.add_device("거실 TV")
    send_heartbeat(server, token, tv={"state": "running", "screen": "player", "errors": [
        {"time": time.time(), "level": "warning", "message": "a problem with a long technical text " * 5}]})
    assert upload_screenshot(server, token, jpeg(width=960, height=540)).status_code == 200
    page.goto(f"{server.url}/lang/{lang}?next=/")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.locator("a.device-link").first.click()
    shot = page.locator("#screenshot")
    expect(shot).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=shot.element_handle())
    arrows = [f'[data-key="{key}"]' for key in ("up", "down", "left", "right", "ok")]
    for selector in ["#screenshot", *arrows]:
        assert _in_view(page, selector), selector
    # Reading further down (commands, health, logs), the picture stays in view.
    page.locator("#commands").scroll_into_view_if_needed()
    page.mouse.wheel(0, 600)
    page.wait_for_function("() => window.scrollY > 300")
    assert _in_view(page, "#screenshot")
    # The header's links keep to one line and clear of the brand (the nav scrolls sideways instead).
    brand = page.locator("header.top .brand").bounding_box()
    assert brand is not None
    for item in page.locator("header.top nav a, header.top nav button").all():
        lines = item.evaluate("el => el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).fontSize)")
        assert lines < 2, (item.inner_text(), lines)
        box = item.bounding_box()
        assert box is None or box["x"] >= brand["x"] + brand["width"], item.inner_text()
    # Korean labels break between words, never one syllable per line: each key label is one line high.
    for selector in ('[data-key="back"]', '[data-key="info"]', '[data-command="reload"]'):
        height = page.locator(selector).evaluate(
            "el => el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight)")
        assert height < 2.5, (selector, height)
