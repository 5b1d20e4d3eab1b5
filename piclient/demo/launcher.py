"""The demo's launcher as a child process, kept running the way systemd keeps ``piclient-tv.service``.

On a box, "Restart TV app" runs ``systemctl --no-block restart piclient-tv.service``. The demo has no
unit, so it has this small supervisor instead, and the agent's ``restart_tv_command`` is
``python -m piclient.demo.launcher restart DIR``: it asks the supervisor for a restart and returns
once a new launcher process runs. The dashboard's button thus really
stops the launcher and starts a new one in the demo too.

Files in DIR: ``tv.pid`` (the running launcher's pid, written by the supervisor) and
``tv.restart`` (a restart was asked for: the next exit is not the end of the demo).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

PID_FILE = "tv.pid"
RESTART_FILE = "tv.restart"
LOG_FILE = "tv.log"
STOP_WAIT_S = 15.0
RESTART_WAIT_S = 30.0
CRASH_PAUSE_S = 1.0  # systemd's RestartSec: a launcher that dies at once is not restarted in a tight loop


class LauncherSupervisor:
    """Runs ``piclient tv --config CONFIG`` and starts it again after a restart request or a crash.

    A launcher that ends cleanly without a restart request (the window was closed) ends the demo.
    """

    def __init__(self, config_path: Path, run_dir: Path) -> None:
        self.config_path = config_path
        self.run_dir = run_dir
        self.starts = 0
        self.exit_code: int | None = None
        self._stop = threading.Event()
        self.ended = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="demo-launcher", daemon=True)

    def start(self) -> LauncherSupervisor:
        (self.run_dir / RESTART_FILE).unlink(missing_ok=True)
        self._thread.start()
        return self

    def _spawn(self, log_file: IO[bytes]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-m", "piclient", "tv", "--config", str(self.config_path)],
                                   stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT)
        _write_atomically(self.run_dir / PID_FILE, f"{process.pid}\n")
        self.starts += 1
        return process

    def _run(self) -> None:
        try:
            with (self.run_dir / LOG_FILE).open("ab") as log_file:
                while not self._stop.is_set():
                    with self._lock:
                        if self._stop.is_set():
                            break
                        self._process = self._spawn(log_file)
                    code = self._process.wait()
                    if self._stop.is_set():
                        break
                    asked = self.run_dir / RESTART_FILE
                    if asked.exists():
                        asked.unlink(missing_ok=True)
                        log.info("the TV app is restarting, as asked")
                        continue
                    if code == 0:
                        self.exit_code = 0  # closed by the person at the window: the demo ends
                        break
                    log.warning("the TV app exited with %s; starting it again", code)
                    self._stop.wait(CRASH_PAUSE_S)
        finally:
            (self.run_dir / PID_FILE).unlink(missing_ok=True)
            self.ended.set()

    def wait(self) -> int:
        """Until the launcher ends the demo (or ``stop``); its exit code."""
        while not self.ended.wait(0.5):
            pass
        return self.exit_code or 0

    def stop(self) -> None:
        with self._lock:
            self._stop.set()
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self._thread.join(timeout=STOP_WAIT_S)


def restart(run_dir: Path, timeout_s: float = RESTART_WAIT_S) -> str:
    """Ask the supervisor in ``run_dir`` for a restart; returns once a new launcher runs.

    Raises RuntimeError with a sentence for the maintainer when there is nothing to restart or the
    new launcher does not come up.
    """
    old = _read_pid(run_dir / PID_FILE)
    if old is None or not _alive(old):
        raise RuntimeError("no demo TV app is running here (is `make demo` still running?)")
    (run_dir / RESTART_FILE).write_text("restart\n", encoding="utf-8")
    os.kill(old, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        new = _read_pid(run_dir / PID_FILE)
        if new is not None and new != old and _alive(new):
            return f"the TV app was stopped (pid {old}) and started again (pid {new})"
        time.sleep(0.1)
    raise RuntimeError(f"the TV app (pid {old}) did not come back within {timeout_s:g} s")


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m piclient.demo.launcher",
                                     description="Restart the demo's TV app (what systemctl restart is on a box).")
    parser.add_argument("action", choices=["restart"])
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args(argv)
    try:
        print(restart(args.run_dir))
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
