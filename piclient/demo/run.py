"""`piclient demo`: the whole loop on one machine, with a library made on the spot.

The library is built once into a cache directory (not the repository). The maintainer's server
hosts it on 127.0.0.1, an agent syncs it into the TV's cache and reports to the server, and the
launcher shows it in a window (or headless when there is no display) while the dashboard shows
the launcher.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from piclient.config import Config, parse_config

log = logging.getLogger(__name__)


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "piclient" / "demo"


def demo_config_text(server_url: str, token: str, root: Path, *, language: str = "ko",
                     silent: bool = False) -> str:
    return "\n".join([
        "device:",
        f"  name: {DEVICE_NAME}",
        "server:",
        f"  url: {server_url}",
        f"  token: {token}",
        "agent:",
        "  heartbeat_seconds: 5",  # the demo should feel alive; a real box uses 30
        "  screenshot_seconds: 15",
        # The demo's launcher runs under a small supervisor (demo/launcher.py) that restarts it for real.
        f"  restart_tv_command: [{sys.executable!r}, '-m', 'piclient.demo.launcher', 'restart', {str(root)!r}]",
        "  reboot_command: []",  # the demo never reboots the machine it runs on: no button for it
        # No journal here: "Fetch logs" sends the demo box's own log files.
        f"  log_file: [{str(root / 'agent.log')!r}, {str(root / LAUNCHER_LOG)!r}]",
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


DEVICE_NAME = "Demo TV"
LAUNCHER_LOG = "tv.log"


def run_demo(cache: Path | None = None, headless: bool = False, screenshots: Path | None = None) -> int:
    """Library, server, agent and launcher on one machine, each its own process."""
    from piclient.demo.launcher import LauncherSupervisor
    from piclient.demo.library import build_demo_library
    from piclient.logs import setup_logging

    setup_logging("info")
    root = cache or default_cache()
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"demo library: {root / 'library'} (made once: source films from ffmpeg, packaged with piclient "
          "publish; a few minutes the first time)")
    build_demo_library(root / "library")
    print(f"demo library ready in {time.monotonic() - started:.1f} s")

    headless = headless or screenshots is not None
    headless = headless or not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
    with contextlib.ExitStack() as stack:
        server_url, password = _start_server(root, stack)
        token = _new_device_token(root, server_url)
        config_path = root / "demo.yaml"
        config_path.write_text(demo_config_text(server_url, token, root, silent=headless), encoding="utf-8")
        config = parse_config(config_path.read_text(encoding="utf-8"), config_path)
        _first_sync(config)
        _start_agent(config_path, root, stack)
        launcher = LauncherSupervisor(config_path, root).start()
        stack.callback(launcher.stop)
        if screenshots is not None:
            return _take_screenshots(config, screenshots, server_url, password)
        sock = config.paths.socket
        print(f"""
The whole loop is running on this machine.{" No display here, so the TV runs headless." if headless else ""}

  Dashboard:  {server_url}/      password: {password}
  (open it, pick "{DEVICE_NAME}", press the arrows on its remote and watch the screenshot follow)

  The TV from another terminal:
    .venv/bin/piclient ctl --socket {sock} screenshot screen.png
    .venv/bin/piclient ctl --socket {sock} key right

  Logs: {root / 'server.log'}, {root / 'agent.log'}, {root / LAUNCHER_LOG}
""" + ("" if headless else
       "  In the window: arrows move, Enter opens or plays, Escape goes back, F1-F4 are the colour keys.\n")
              + "\nStop with Ctrl+C.\n", flush=True)
        # Ctrl+C, or a SIGTERM (a service manager, `kill`): stop the children in reverse, not orphan them.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            return launcher.wait()
        except KeyboardInterrupt:
            return 0
    return 0


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _start_server(root: Path, stack: contextlib.ExitStack) -> tuple[str, str]:
    """The maintainer's server on 127.0.0.1, hosting the demo library; a fresh password each run."""
    from piclient.server.serve import wait_until_listening

    data = root / "server"
    password = secrets.token_urlsafe(9)
    subprocess.run([sys.executable, "-m", "piclient", "server", "set-password", "--data", str(data),
                    "--password-stdin"], input=password + "\n", text=True, check=True, capture_output=True)
    log_file = stack.enter_context((root / "server.log").open("ab"))
    process = subprocess.Popen([sys.executable, "-m", "piclient", "server", "--data", str(data), "--library",
                                str(root / "library"), "--listen", "127.0.0.1:0", "--heartbeat-seconds", "5"],
                               stdout=subprocess.PIPE, stderr=log_file, text=True)
    stack.callback(_stop, process)
    url = wait_until_listening(process, timeout=30)
    if url is None:
        raise RuntimeError(f"the demo server did not start; see {root / 'server.log'}")
    return url, password


def _new_device_token(root: Path, server_url: str) -> str:
    """A new token for the demo TV each run: tokens are shown only once, so the old one is replaced."""
    data = str(root / "server")
    out = subprocess.run([sys.executable, "-m", "piclient", "server", "add-device", DEVICE_NAME, "--data", data,
                          "--url", server_url, "--new-token"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.strip().startswith("token:"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError(f"add-device printed no token:\n{out}")


def _first_sync(config: Config) -> None:
    """Fill the TV's cache once before it starts, so the demo opens on posters, not on "on their way"."""
    from piclient.agent.catalog import CatalogSyncer
    from piclient.catalog.cache import CatalogCache

    syncer = CatalogSyncer(config.server.url, config.server.token, CatalogCache(config.paths.data), tv=None,
                           timeout_s=15)  # type: ignore[arg-type]
    try:
        result = syncer.sync.run_once()
    finally:
        syncer.close()
    print(f"catalog: {result.titles} titles, {result.posters_fetched} posters from the demo server")


def _start_agent(config_path: Path, root: Path, stack: contextlib.ExitStack) -> None:
    log_file = stack.enter_context((root / "agent.log").open("ab"))
    process = subprocess.Popen([sys.executable, "-m", "piclient", "agent", "--config", str(config_path)],
                               stdout=log_file, stderr=subprocess.STDOUT)
    stack.callback(_stop, process)


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _take_screenshots(config: Config, out: Path, server_url: str, password: str) -> int:
    """Drive the demo launcher through its control socket and save the README's pictures."""
    from piclient.control.client import ControlClient, ControlUnavailable

    ctl = ControlClient(config.paths.socket)
    for _ in range(300):
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
            # Seeking: the target time and the frame there, from the seek-thumbnail track.
            ctl.request("key", name="right")
            ctl.request("key", name="right")
            time.sleep(0.1)
        (out / name).write_bytes(ctl.screenshot("png"))
        print(f"{out / name}")
    # Paused, with the colour keys' legend that the first colour press shows.
    time.sleep(1.0)  # the seek above is committed and the picture there has arrived
    for key in ("ok", "red"):
        ctl.request("key", name=key)
    time.sleep(0.5)
    (out / "launcher-paused.png").write_bytes(ctl.screenshot("png"))
    print(f"{out / 'launcher-paused.png'}")
    ctl.request("key", name="back")
    time.sleep(8)  # let the agent send a screenshot of the grid for the dashboard's picture
    from piclient.demo.dashboard_shots import take_dashboard_screenshots

    for path in take_dashboard_screenshots(server_url, password, DEVICE_NAME, out):
        print(path)
    return 0
