"""`piclient demo`: the whole launcher on one machine, with a library made on the spot.

The library is built once into a cache directory (not the repository), served on 127.0.0.1, synced
into a demo data directory, and shown in a window, or headless when there is no display.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from piclient.config import Config, parse_config

log = logging.getLogger(__name__)


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "piclient" / "demo"


def demo_config_text(catalog_url: str, root: Path, *, language: str = "ko", silent: bool = False) -> str:
    return "\n".join([
        "device:",
        "  name: Demo TV",
        "catalog:",
        f"  source: {catalog_url}",
        "paths:",
        f"  data: {root / 'data'}",
        f"  socket: {root / 'tv.sock'}",
        "ui:",
        f"  language: {language}",
        "  fullscreen: false",
        "  window_size: [1280, 720]",
        "cec:",
        "  enabled: false",
        "player:",
        "  hwdec: 'no'",  # a desktop's GPU decoders only add noise to the demo's log
        *(["  audio_output: 'null'"] if silent else []),
        "",
    ])


def run_demo(cache: Path | None = None, headless: bool = False, screenshots: Path | None = None) -> int:
    from piclient.catalog.cache import CatalogCache
    from piclient.catalog.sync import CatalogSync
    from piclient.demo.library import build_demo_library
    from piclient.demo.server import StaticServer
    from piclient.logs import setup_logging
    from piclient.tv import run_tv

    setup_logging("info")
    root = cache or default_cache()
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"demo library: {root / 'library'} (made once with ffmpeg; this can take a minute)")
    build_demo_library(root / "library")
    print(f"demo library ready in {time.monotonic() - started:.1f} s")

    headless = headless or screenshots is not None
    headless = headless or not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
    with StaticServer(root / "library") as server:
        catalog_url = server.url.rstrip("/") + "/catalog.json"
        config_path = root / "demo.yaml"
        config_path.write_text(demo_config_text(catalog_url, root, silent=headless), encoding="utf-8")
        config = parse_config(config_path.read_text(encoding="utf-8"), config_path)
        result = CatalogSync(config.catalog.source, CatalogCache(config.paths.data)).run_once()
        print(f"catalog: {result.titles} titles, {result.posters_fetched} posters from {catalog_url}")
        sock = config.paths.socket
        if screenshots is not None:
            return _take_screenshots(config, screenshots)
        print("\nThe launcher is starting." + (" No display here, so it runs headless." if headless else ""))
        print("Look at it and drive it from another terminal:")
        print(f"  .venv/bin/piclient ctl --socket {sock} screenshot screen.png")
        print(f"  .venv/bin/piclient ctl --socket {sock} key right")
        print(f"  .venv/bin/piclient ctl --socket {sock} status")
        if not headless:
            print("In the window: arrows move, Enter opens or plays, Escape goes back, F1-F4 are the colour keys.")
        print("Stop with Ctrl+C.\n")
        sys.stdout.flush()
        return run_tv(config)


def _take_screenshots(config: Config, out: Path) -> int:
    """Drive the demo launcher through its control socket and save the README's pictures."""
    import threading

    from piclient.control.client import ControlClient, ControlUnavailable
    from piclient.tv import run_tv

    stop = threading.Event()
    thread = threading.Thread(target=run_tv, args=(config, stop), name="launcher")
    thread.start()
    ctl = ControlClient(config.paths.socket)
    try:
        for _ in range(100):
            try:
                if ctl.request("status").get("screen") == "home":
                    break
            except ControlUnavailable:
                pass
            time.sleep(0.1)
        out.mkdir(parents=True, exist_ok=True)
        time.sleep(1.0)  # posters decode in the background
        steps = [
            ("launcher-home.png", ["down", "right"], 0.5),
            ("launcher-title.png", ["down", "ok"], 0.5),
            ("launcher-player.png", ["ok"], 6.0),
        ]
        for name, keys, wait in steps:
            for key in keys:
                ctl.request("key", name=key)
            time.sleep(wait)
            if name == "launcher-player.png":
                ctl.request("key", name="info")
                time.sleep(0.3)
            (out / name).write_bytes(ctl.screenshot("png"))
            print(f"{out / name}")
    finally:
        stop.set()
        thread.join(timeout=15)
    return 0
