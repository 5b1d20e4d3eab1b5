"""From a key on the dashboard to the TV picture that shows it, and from opening a box's page to its
first fresh picture: chromium, server, agent and launcher, all real, on 127.0.0.1.

    .venv/bin/python bench/dashboard_latency_bench.py [--presses 40] [--opens 6] [--heartbeat 30]

What it does:
1. a `piclient server` (SQLite) hosting a 12-poster library, the demo's box (its config from
   ``demo_config_text``, with the agent's heartbeat every ``--heartbeat`` s: 30 s, the default of a
   real box, and no scheduled screenshots) and Debian's chromium at 390x844 through Playwright;
2. first fresh picture: ``--opens`` times, the box's page is opened in a new tab and timed from the
   start of the navigation to the first picture on the page that was taken after it started. Half
   the opens come while the box is still in live mode from the page before ("warm"); for the other
   half live mode was ended first and the page opens at a random moment of the box's heartbeat
   cycle ("cold"): the box hears of the page through the command poll it always holds;
3. key to picture: ``--presses`` presses of RIGHT and LEFT in turn on the page's remote (a steady
   pause between them), each timed from the click to the first picture on the page whose pixels
   differ from the picture before the click (the moved focus ring).

Prints the median, p95 and max of each, in seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from PIL import Image  # noqa: E402

from piclient.demo.dashboard_shots import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from piclient.demo.launcher import LauncherSupervisor  # noqa: E402
from piclient.demo.run import DEVICE_NAME, demo_config_text  # noqa: E402
from piclient.server.db import default_url  # noqa: E402
from piclient.server.serve import wait_until_listening  # noqa: E402

PASSWORD = "bench-password"
PHONE = {"width": 390, "height": 844}
WAIT_MS = 30_000
PICTURE_SHOWN = """([img, after]) => Number(img.dataset.shotId) > after && img.complete && img.naturalWidth > 0"""


def make_library(root: Path) -> None:
    import json

    titles = []
    for n in range(12):
        poster = root / "posters" / f"film-{n}.jpg"
        poster.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        Image.new("RGB", (200, 300), (20 * n, 90, 220 - 15 * n)).save(buffer, "JPEG")
        poster.write_bytes(buffer.getvalue())
        titles.append({"id": f"film-{n}", "kind": "film", "title": {"ko": f"영화 {n}", "en": f"Film {n}"},
                       "year": 2001, "stream": "http://127.0.0.1:9/none.m3u8", "duration": 3600,
                       "added_at": "2026-01-01T00:00:00Z", "poster": f"posters/film-{n}.jpg"})
    (root / "catalog.json").write_text(json.dumps({"version": 1, "titles": titles}), encoding="utf-8")


def piclient(*args: str, stdin: str | None = None) -> str:
    return subprocess.run([sys.executable, "-m", "piclient", *args], input=stdin, text=True, check=True,
                          capture_output=True).stdout


def quantiles(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (f"n={len(values)} median {statistics.median(ordered):.2f} s, p95 {p95:.2f} s, "
            f"min {ordered[0]:.2f} s, max {ordered[-1]:.2f} s")


class Bench:
    def __init__(self, url: str, page: Any, session: requests.Session, device_id: int) -> None:
        self.url = url
        self.page = page
        self.session = session
        self.device_id = device_id

    def latest_shot_id(self) -> int:
        reply = self.session.get(f"{self.url}/api/dash/devices/{self.device_id}", timeout=10).json()
        shot = reply["device"]["screenshot"]
        return shot["id"] if shot else 0

    def shown(self) -> tuple[int, str]:
        img = self.page.locator("#screenshot")
        shot_id = int(img.get_attribute("data-shot-id") or 0)
        data = self.session.get(f"{self.url}/screenshots/{shot_id}.jpg", timeout=10).content
        with Image.open(io.BytesIO(data)) as image:
            return shot_id, hashlib.sha256(image.convert("RGB").tobytes()).hexdigest()

    def open_page(self) -> float:
        """Seconds from the start of opening the page to the first picture taken after that start."""
        before = self.latest_shot_id()
        started = time.monotonic()
        self.page.goto(f"{self.url}/devices/{self.device_id}")
        img = self.page.locator("#screenshot").element_handle()
        self.page.wait_for_function(PICTURE_SHOWN, arg=[img, before], timeout=WAIT_MS)
        return time.monotonic() - started

    def press(self, key: str) -> float:
        """Seconds from the click to the first picture whose pixels differ from the one before it."""
        shot_id, digest = self.shown()
        started = time.monotonic()
        self.page.click(f'[data-key="{key}"]')
        img = self.page.locator("#screenshot").element_handle()
        while True:
            self.page.wait_for_function(PICTURE_SHOWN, arg=[img, shot_id], timeout=WAIT_MS)
            elapsed = time.monotonic() - started
            shot_id, new_digest = self.shown()
            if new_digest != digest:
                return elapsed

    def end_live(self) -> None:
        """As if the page had been closed three minutes ago: the box leaves live mode."""
        subprocess.run([sys.executable, "-c", (
            "import sys, sqlalchemy as sa\n"
            "from piclient.server.db import Database\n"
            "from piclient.server.schema import devices\n"
            "db = Database(sys.argv[1])\n"
            "db.write_sync(lambda c: c.execute(devices.update().values(live_until=0)))\n"
            "db.close()\n"), self.database_url], check=True)

    database_url = ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presses", type=int, default=40)
    parser.add_argument("--opens", type=int, default=6)
    parser.add_argument("--heartbeat", type=float, default=30.0, help="the agent's heartbeat (a box's default: 30 s)")
    parser.add_argument("--pause", type=float, default=1.5, help="seconds between key presses")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ["SDL_AUDIODRIVER"] = "dummy"
    with tempfile.TemporaryDirectory(prefix="piclient-dash-bench-") as tmp, contextlib.ExitStack() as stack:
        root = Path(tmp)
        make_library(root / "library")
        data = root / "server"
        piclient("server", "set-password", "--data", str(data), "--password-stdin", stdin=PASSWORD + "\n")
        server = subprocess.Popen([sys.executable, "-m", "piclient", "server", "--data", str(data), "--library",
                                   str(root / "library"), "--listen", "127.0.0.1:0", "--heartbeat-seconds",
                                   str(int(args.heartbeat)), "--log-level", "warning"],
                                  stdout=subprocess.PIPE, stderr=(root / "server.log").open("wb"), text=True)
        stack.callback(lambda: (server.terminate(), server.wait(15)))
        url = wait_until_listening(server, 60)
        assert url is not None, (root / "server.log").read_text()
        out = piclient("server", "add-device", DEVICE_NAME, "--data", str(data), "--url", url, "--new-token")
        token = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.strip().startswith("token:"))
        box = root / "box"
        box.mkdir()
        config = box / "demo.yaml"
        # No scheduled pictures: the only fresh picture after opening a page is the one the page asked for.
        config.write_text(demo_config_text(url, token, box, silent=True).replace(
            "heartbeat_seconds: 5", f"heartbeat_seconds: {args.heartbeat:g}").replace(
            "screenshot_seconds: 15", "screenshot_seconds: 0"), encoding="utf-8")
        supervisor = LauncherSupervisor(config, box).start()
        stack.callback(supervisor.stop)
        agent = subprocess.Popen([sys.executable, "-m", "piclient", "agent", "--config", str(config)],
                                 stdout=(box / "agent.log").open("ab"), stderr=subprocess.STDOUT)
        stack.callback(lambda: (agent.terminate(), agent.wait(15)))

        session = requests.Session()
        login = session.get(f"{url}/login", timeout=10).text
        form = login.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        session.post(f"{url}/login", data={"csrf": form, "password": PASSWORD, "next": "/"}, timeout=10)
        deadline = time.monotonic() + 60
        device_id = None
        while device_id is None:
            assert time.monotonic() < deadline, "the box never reported"
            found = session.get(f"{url}/api/dash/devices", timeout=10).json()["devices"]
            device_id = next((d["id"] for d in found if d["name"] == DEVICE_NAME and d["status"] == "online"), None)
            time.sleep(0.5)

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
            context = browser.new_context(viewport=PHONE, locale="en-US")
            context.add_cookies([{"name": c.name, "value": c.value or "", "url": url} for c in session.cookies])
            page = context.new_page()
            bench = Bench(url, page, session, device_id)
            bench.database_url = default_url(data)
            bench.open_page()  # the first visit switches live mode on; the warm opens find it on
            page.goto("about:blank")
            warm, cold = [], []
            phase = random.Random(7)
            for n in range(args.opens):
                if n % 2:
                    bench.end_live()
                    # A live box heartbeats every second and hears "live: null" in the next reply. 25 s
                    # on, no poll held in live mode is left (an older agent held one up to 20 s, and
                    # a page opened meanwhile reached it); then the page opens anywhere in the box's
                    # heartbeat cycle.
                    time.sleep(25 + phase.uniform(0, args.heartbeat))
                    cold.append(bench.open_page())
                else:
                    warm.append(bench.open_page())
                page.goto("about:blank")
            bench.open_page()
            presses = []
            for n in range(args.presses):
                time.sleep(args.pause)
                presses.append(bench.press("right" if n % 2 == 0 else "left"))
            browser.close()
        print(f"heartbeat {args.heartbeat:g} s, {args.presses} presses {args.pause:g} s apart")
        if warm:
            print(f"first fresh picture, box already live: {quantiles(warm)}")
        if cold:
            print(f"first fresh picture, box not live:     {quantiles(cold)}")
        if presses:
            print(f"key to picture:                         {quantiles(presses)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
