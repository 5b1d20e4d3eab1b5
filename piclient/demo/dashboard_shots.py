"""The dashboard's pictures for the docs, taken by a real browser from a running server.

Debian's chromium is driven by Playwright (never a browser Playwright downloads): it logs in, waits
until the pages show the box's real TV picture, and saves phone-sized PNGs. Playwright is imported
only when pictures are taken, so the server and the launcher never need it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from piclient.fsutil import atomic_write

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--hide-scrollbars")
PHONE = {"width": 412, "height": 915}
# Sharp on a high-density screen; a picture that comes out larger than MAX_BYTES is taken again at 1x.
SCALES = (2, 1)
MAX_BYTES = 500_000
LIST_FILE = "dashboard-list.png"
DEVICE_FILE = "dashboard-device.png"
# The page refreshes its picture every 2 s and a box in live mode sends one every few seconds.
WAIT_S = 60.0

# True once an <img> has decoded a picture (a broken or still-loading one has naturalWidth 0).
IMAGE_LOADED = "img => img.complete && img.naturalWidth > 0"


class DashboardShotError(RuntimeError):
    """The pictures could not be taken: wrong password, no such device, no TV picture in time."""


def take_dashboard_screenshots(dashboard_url: str, password: str, device_name: str, out: Path, *,
                               locale: str = "en-US", chromium: str = CHROMIUM,
                               wait_s: float = WAIT_S) -> list[Path]:
    """Log in to the dashboard at ``dashboard_url`` and save the device list and ``device_name``'s page.

    Returns the paths written (``dashboard-list.png``, ``dashboard-device.png`` in ``out``). Waits,
    up to ``wait_s`` each, until the device has a screenshot and the pages have loaded it.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    base = dashboard_url.rstrip("/")
    out = Path(out)
    timeout_ms = wait_s * 1000
    saved: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))
        try:
            shots: dict[str, bytes] = {}
            for scale in SCALES:
                context = browser.new_context(locale=locale, viewport=PHONE, device_scale_factor=scale,
                                              is_mobile=True, has_touch=True)
                try:
                    page = context.new_page()
                    page.set_default_timeout(timeout_ms)
                    try:
                        shots = _photograph(page, base, password, device_name, timeout_ms)
                    except PlaywrightError as exc:
                        raise DashboardShotError(f"the dashboard at {base} did not show what was expected: "
                                                 f"{exc.message.splitlines()[0]}") from None
                finally:
                    context.close()
                if max(len(data) for data in shots.values()) <= MAX_BYTES:
                    break
        finally:
            browser.close()
    for name, data in shots.items():
        path = out / name
        atomic_write(path, data)
        saved.append(path)
    return saved


def _photograph(page: Any, base: str, password: str, device_name: str, timeout_ms: float) -> dict[str, bytes]:
    _log_in(page, base, password)
    card = page.locator("li.device").filter(has=page.get_by_role("heading", name=device_name, exact=True))
    if card.count() == 0:
        raise DashboardShotError(f"no device named {device_name!r} on {base}/")
    # The list is rendered by the server and refreshed by its script every 10 s: reload until the
    # device has a picture, rather than waiting on the script's timer.
    thumb = card.locator("img.thumb")
    deadline_ms = timeout_ms
    while thumb.count() == 0:
        if deadline_ms <= 0:
            raise DashboardShotError(f"{device_name!r} has sent no screenshot yet")
        page.wait_for_timeout(1000)
        deadline_ms -= 1000
        page.reload()
    page.wait_for_function(IMAGE_LOADED, arg=thumb.element_handle())
    shots = {LIST_FILE: page.screenshot(type="png")}

    card.locator("a.device-link").click()
    page.wait_for_url(f"{base}/devices/*")
    shot = page.locator("#screenshot")
    # A device without a picture yet shows a placeholder; the page's script swaps the picture in.
    shot.wait_for(state="visible")
    page.wait_for_function(IMAGE_LOADED, arg=shot.element_handle())
    shots[DEVICE_FILE] = page.screenshot(type="png")
    return shots


def _log_in(page: Any, base: str, password: str) -> None:
    page.goto(f"{base}/login?next=/")
    page.fill("#password", password)
    page.click("#login-button")
    page.wait_for_load_state()
    error = page.locator("#login-error")
    if error.count():
        raise DashboardShotError(f"could not log in to {base}: {error.inner_text().strip()}")
    page.wait_for_url(f"{base}/")

