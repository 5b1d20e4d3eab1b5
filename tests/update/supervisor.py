"""A small stand-in for systemd on a machine without it: runs the launcher and the agent as real
processes from ``current/bin/piclient`` (as the units' ExecStart does), restarts them when they exit
(Restart=always) and counts the restarts (NRestarts). Same five methods as SystemdUnits."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from piclient.update.layout import Layout

RESTART_DELAY_S = 0.3


class ProcessUnits:
    def __init__(self, layout: Layout, workdir: Path, state_db: Path | None = None) -> None:
        self.layout = layout
        self.state_db = state_db
        self.socket = workdir / "tv.sock"
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._procs: dict[str, subprocess.Popen[bytes] | None] = {"tv": None, "agent": None}
        self._counts = {"piclient-tv.service": 0, "piclient-agent.service": 0}
        self._generation = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _spawn(self, name: str) -> subprocess.Popen[bytes]:
        exe = self.layout.current / "bin" / "piclient"
        if not exe.exists():
            exe = self.layout.factory / "bin" / "piclient"
        env = {**os.environ, "PICLIENT_TEST_SOCKET": str(self.socket), "PICLIENT_TEST_ALIVE": str(self.layout.alive)}
        if self.state_db is not None:
            env["PICLIENT_TEST_STATE"] = str(self.state_db)
        log = (self.logs / f"{name}.log").open("ab")
        log.write(f"-- {time.time():.3f} start {os.path.realpath(exe)}\n".encode())
        log.flush()
        return subprocess.Popen([str(exe), name], stdout=log, stderr=subprocess.STDOUT, env=env)

    def _keep(self, name: str, generation: int) -> None:
        unit = f"piclient-{name}.service"
        while not self._stop.is_set() and generation == self._generation:
            with self._lock:
                if generation != self._generation:
                    return
                proc = self._spawn(name)
                self._procs[name] = proc
            proc.wait()
            if self._stop.wait(RESTART_DELAY_S) or generation != self._generation:
                return
            self._counts[unit] += 1

    def start(self) -> None:
        self._stop.clear()
        gen = self._generation
        self._threads = [threading.Thread(target=self._keep, args=(n, gen), daemon=True) for n in ("tv", "agent")]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            self._generation += 1
            procs = [p for p in self._procs.values() if p is not None]
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for thread in self._threads:
            thread.join(10)

    # -- the Units interface ----------------------------------------------------------------------

    def restart(self) -> None:
        self.stop()
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        self.start()

    def restarts(self) -> dict[str, int]:
        return dict(self._counts)

    def tv_answers(self) -> bool:
        return bool(self.launcher_status().get("ok"))

    def log_tail(self, since: float) -> str:
        lines: list[str] = []
        for name in ("tv", "agent"):
            path = self.logs / f"{name}.log"
            if path.exists():
                lines += [f"{name}: {line}" for line in path.read_text(errors="replace").splitlines()[-20:]]
        return "\n".join(lines)

    def launcher_status(self) -> dict[str, Any]:
        """What the launcher answers to ``status`` ({} when nothing answers)."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(2)
                conn.connect(str(self.socket))
                conn.sendall(b'{"cmd":"status"}\n')
                answer = json.loads(conn.makefile("rb").readline())
                return answer if isinstance(answer, dict) else {}
        except (OSError, ValueError):
            return {}

    def running_version(self) -> str | None:
        """The version the launcher that answers reports."""
        return self.launcher_status().get("version")
