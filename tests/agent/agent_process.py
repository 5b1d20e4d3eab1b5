"""Start a real `piclient agent` process for tests, with short intervals from its config."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.agent.protocol_server import TOKEN

# Fast enough for tests, far from the defaults: the defaults are what bench/agent_bench.py measures.
FAST = {
    "heartbeat_seconds": 0.5,
    "screenshot_seconds": 0,
    "progress_seconds": 0.5,
    "control_timeout_seconds": 2,
    "http_timeout_seconds": 3,
    "backoff_max_seconds": 1,
    "tv_unit": "",
}


def write_agent_config(directory: Path, server_url: str, *, token: str = TOKEN, name: str = "Living room",
                       catalog_refresh_minutes: int = 15, **agent: Any) -> Path:
    settings = {**FAST, **agent}
    lines = [
        "device:",
        f"  name: {json.dumps(name)}",
        "catalog:",
        f"  refresh_minutes: {catalog_refresh_minutes}",
        "paths:",
        f"  data: {directory / 'data'}",
        f"  socket: {directory / 'tv.sock'}",
        "server:",
        f"  url: {json.dumps(server_url)}",
        f"  token: {json.dumps(token)}",
        "agent:",
        *(f"  {key}: {json.dumps(value)}" for key, value in settings.items()),
        "log:",
        "  level: debug",
    ]
    path = directory / "agent.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class AgentProcess:
    def __init__(self, directory: Path, config: Path, log_name: str = "agent.log") -> None:
        self.directory = directory
        self.log_path = directory / log_name
        self._log = self.log_path.open("ab")
        env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
        env.pop("NOTIFY_SOCKET", None)
        env.pop("JOURNAL_STREAM", None)
        self.process = subprocess.Popen([sys.executable, "-m", "piclient", "agent", "--config", str(config)],
                                        stdout=self._log, stderr=subprocess.STDOUT, env=env)

    @property
    def spool_path(self) -> Path:
        return self.directory / "data" / "agent" / "spool.db"

    def check(self) -> None:
        """Fail the test at once, with the agent's log, if it exited (a config error, a crash)."""
        if self.process.poll() is not None:
            raise AssertionError(f"agent exited with {self.process.returncode}:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def terminate(self, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
                raise AssertionError(f"agent ignored SIGTERM for {timeout} s:\n{self.log()[-3000:]}") from None
        self._log.close()
        return self.process.returncode

    def kill9(self) -> None:
        self.process.kill()
        self.process.wait(timeout=5)
        self._log.close()


def spool_rows(path: Path) -> list[tuple[str, str]]:
    """(id, kind) of every record waiting in a spool database, checked for integrity first."""
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'outbox'").fetchone():
            return []  # the agent has only just created the file
        return db.execute("SELECT id, kind FROM outbox ORDER BY seq").fetchall()
    finally:
        db.close()
