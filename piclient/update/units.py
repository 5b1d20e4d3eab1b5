"""What the updater needs from the box's services, behind one small interface.

``SystemdUnits`` is the box's: systemctl, the journal and the launcher's control socket. The tests
use a small supervisor of real processes with the same five methods.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Protocol

from piclient.control.client import ControlClient, ControlUnavailable

UNITS = ("piclient-tv.service", "piclient-agent.service")
LOG_LINES = 40


class Units(Protocol):
    def stop(self) -> None: ...
    def restart(self) -> None: ...
    def restarts(self) -> dict[str, int]: ...
    def tv_answers(self) -> bool: ...
    def log_tail(self, since: float) -> str: ...


class SystemdUnits:
    def __init__(self, socket: Path = Path("/run/piclient/tv.sock"), units: tuple[str, ...] = UNITS) -> None:
        self.socket = socket
        self.units = units

    def stop(self) -> None:
        # Waits for both to be gone: the state database is mended only while nothing writes it.
        subprocess.run(["systemctl", "stop", *self.units], check=False, timeout=120)

    def restart(self) -> None:
        # reset-failed first: a unit resting after its start limit must start again now.
        subprocess.run(["systemctl", "reset-failed", *self.units], check=False, timeout=30)
        subprocess.run(["systemctl", "restart", "--no-block", *self.units], check=True, timeout=60)

    def restarts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for unit in self.units:
            done = subprocess.run(["systemctl", "show", "-p", "NRestarts", "--value", unit],
                                  capture_output=True, text=True, timeout=30, check=False)
            try:
                counts[unit] = int(done.stdout.strip() or 0)
            except ValueError:
                counts[unit] = 0
        return counts

    def tv_answers(self) -> bool:
        try:
            return bool(ControlClient(self.socket, timeout=5.0).request("status").get("ok"))
        except (ControlUnavailable, OSError, ValueError):
            return False

    def log_tail(self, since: float) -> str:
        cmd = ["journalctl", "--no-pager", "-o", "short-iso", "-n", str(LOG_LINES),
               "--since", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since))]
        for unit in self.units:
            cmd += ["-u", unit]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        return done.stdout[-4000:]
