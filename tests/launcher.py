"""Start a real `piclient tv` process for tests and drive it through its control socket."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from piclient.control.client import ControlClient, ControlUnavailable


def write_config(directory: Path, source: str, **ui: Any) -> Path:
    lines = [
        "catalog:",
        f"  source: {json.dumps(source)}",
        "paths:",
        f"  data: {directory / 'data'}",
        f"  socket: {directory / 'tv.sock'}",
        "ui:",
        "  fullscreen: false",
        f"  window_size: {json.dumps(list(ui.pop('window_size', (1280, 720))))}",
        *(f"  {key}: {json.dumps(value)}" for key, value in ui.items()),
        "cec:",
        "  enabled: false",
        "log:",
        "  level: debug",
    ]
    path = directory / "config.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def status_at(socket: Path) -> dict[str, Any] | None:
    """The status of whichever launcher answers on ``socket`` now (a first one or a restarted one)."""
    try:
        reply = ControlClient(socket, timeout=2).request("status")
    except ControlUnavailable:
        return None
    return reply if reply.get("ok") else None


class Launcher:
    """A launcher process on the dummy video driver: what runs on the Pi, minus the display."""

    def __init__(self, directory: Path, config: Path) -> None:
        self.directory = directory
        env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
        self.log_path = directory / "tv.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen([sys.executable, "-m", "piclient", "tv", "--config", str(config)],
                                        stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self.ctl = ControlClient(directory / "tv.sock", timeout=10)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"launcher exited early:\n{self.log()}")
            try:
                if self.ctl.request("status").get("ok"):
                    return
            except ControlUnavailable:
                time.sleep(0.1)
        raise RuntimeError(f"launcher did not answer within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def status(self) -> dict[str, Any]:
        reply = self.ctl.request("status")
        assert reply["ok"], reply
        return reply

    def key(self, *names: str) -> None:
        for name in names:
            reply = self.ctl.request("key", name=name)
            assert reply["ok"], reply

    def wait_for(self, predicate: Any, timeout: float = 10) -> dict[str, Any]:
        """Poll status until ``predicate(status)`` holds; bounded, returns the last status."""
        deadline = time.monotonic() + timeout
        status = self.status()
        while not predicate(status):
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s; last status: {status}")
            time.sleep(0.1)
            status = self.status()
        return status

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()
        return self.process.returncode
