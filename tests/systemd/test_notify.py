"""What the units' Type=notify and WatchdogSec= rely on, checked against a real notify socket.

The launcher, the agent and the server are started as real processes with NOTIFY_SOCKET and
WATCHDOG_USEC set the way systemd sets them; the socket records every datagram with its sender's pid.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from piclient.control.client import ControlClient
from piclient.server.serve import ANNOUNCE
from tests.agent.agent_process import write_agent_config
from tests.agent.protocol_server import ProtocolServer
from tests.launcher import write_config
from tests.systemd.notify_socket import NotifySocket
from tests.waiting import wait_until

pytest.importorskip("systemd.daemon", reason="systemd-python sends the notifications (make venv installs it)")

WATCHDOG_S = 0.4  # the launcher pings every 0.2 s: fast enough for a test to see many


@pytest.fixture
def notify() -> Iterator[NotifySocket]:
    with NotifySocket() as sock:
        yield sock


def _start(argv: list[str], log: Path, notify: NotifySocket, watchdog_s: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
           "NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": str(int(watchdog_s * 1e6))}
    env.pop("WATCHDOG_PID", None)
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "piclient", *argv], stdout=out, stderr=subprocess.STDOUT,
                                env=env)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGCONT)  # a test that failed while it was stopped
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def launcher(tmp_path: Path, notify: NotifySocket) -> Iterator[subprocess.Popen[bytes]]:
    process = _start(["tv", "--config", str(write_config(tmp_path, ""))], tmp_path / "tv.log", notify, WATCHDOG_S)
    yield process
    _stop(process)


def _state(pid: int) -> str:
    # /proc/PID/stat: "pid (comm) S ..."; comm may hold spaces, so read after its closing parenthesis.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _drain(notify: NotifySocket) -> None:
    """Every datagram sent before this call has been received once it returns: datagrams on one
    Unix socket arrive in order, so our own marker coming through means nothing is left in front of it."""
    marker = f"X_TEST_MARKER={os.urandom(4).hex()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.sendto(marker.encode(), str(notify.path))
    key, value = marker.split("=")
    notify.wait_for(key, value, timeout=10)


def test_the_launcher_says_ready_only_once_its_first_frame_is_up_and_its_socket_answers(
        tmp_path: Path, notify: NotifySocket, launcher: subprocess.Popen[bytes]) -> None:
    ready = notify.wait_for("READY", "1", timeout=60, pid=launcher.pid)
    # Right when systemd would call it started, the maintainer's screenshot already works.
    client = ControlClient(tmp_path / "tv.sock", timeout=10)
    assert client.request("status")["ok"]
    reply = client.request("screenshot")
    assert reply["ok"], reply
    assert ready.fields["STATUS"].endswith("titles")  # what `systemctl status` shows
    assert not notify.messages("READY", pid=0), "every notification carries the launcher's own pid"


def test_a_frozen_main_loop_stops_the_watchdog_pings_and_a_running_one_resumes_them(
        notify: NotifySocket, launcher: subprocess.Popen[bytes]) -> None:
    ready = notify.wait_for("READY", "1", timeout=60, pid=launcher.pid)
    wait_until(lambda: len([m for m in notify.messages("WATCHDOG", launcher.pid) if m.at > ready.at]) >= 3,
               30, "three watchdog pings from the running launcher")

    os.kill(launcher.pid, signal.SIGSTOP)
    wait_until(lambda: _state(launcher.pid) == "T", 10, "the launcher stopped")
    _drain(notify)
    frozen = len(notify.messages("WATCHDOG", launcher.pid))
    # Three whole watchdog periods with the loop frozen: systemd would have killed it after one.
    _drain_after(notify, 3 * WATCHDOG_S)
    assert len(notify.messages("WATCHDOG", launcher.pid)) == frozen

    resumed_at = notify.messages()[-1].at
    os.kill(launcher.pid, signal.SIGCONT)
    notify.wait_for("WATCHDOG", "1", after=resumed_at, timeout=30, pid=launcher.pid)


def _drain_after(notify: NotifySocket, seconds: float) -> None:
    """Let ``seconds`` pass on the monotonic clock, then receive everything sent until then."""
    until = time.monotonic() + seconds
    wait_until(lambda: time.monotonic() >= until, seconds + 5, f"{seconds} s to pass")
    _drain(notify)


def test_the_launcher_says_stopping_when_systemd_stops_it(notify: NotifySocket,
                                                        launcher: subprocess.Popen[bytes]) -> None:
    notify.wait_for("READY", "1", timeout=60, pid=launcher.pid)
    launcher.terminate()
    assert launcher.wait(timeout=20) == 0
    notify.wait_for("STOPPING", "1", timeout=10, pid=launcher.pid)


def test_the_agent_says_ready_once_its_spool_is_open_and_pings_while_its_heartbeats_run(
        tmp_path: Path, notify: NotifySocket) -> None:
    with ProtocolServer() as server:
        config = write_agent_config(tmp_path, server.url)
        agent = _start(["agent", "--config", str(config)], tmp_path / "agent.log", notify, 2.0)
        try:
            ready = notify.wait_for("READY", "1", timeout=60, pid=agent.pid)
            assert (tmp_path / "data" / "agent" / "spool.db").is_file()
            assert ready.fields["STATUS"] == "reporting"
            notify.wait_for("WATCHDOG", "1", after=ready.at, timeout=30, pid=agent.pid)
            status = notify.wait_for("STATUS", after=ready.at, timeout=30, pid=agent.pid)
            assert "record(s) waiting" in status.fields["STATUS"]
        finally:
            _stop(agent)


def test_the_server_says_ready_when_it_answers_and_pings_from_its_event_loop(
        tmp_path: Path, notify: NotifySocket) -> None:
    (tmp_path / "library").mkdir()
    server = _start(["server", "--data", str(tmp_path / "data"), "--library", str(tmp_path / "library"),
                     "--listen", "127.0.0.1:0"], tmp_path / "server.log", notify, 2.0)
    try:
        ready = notify.wait_for("READY", "1", timeout=120, pid=server.pid)
        url = ready.fields["STATUS"].removeprefix(ANNOUNCE.strip()).strip()
        with urllib.request.urlopen(f"{url}healthz", timeout=10) as reply:
            assert reply.status == 200
        notify.wait_for("WATCHDOG", "1", after=ready.at, timeout=30, pid=server.pid)
    finally:
        _stop(server)
    notify.wait_for("STOPPING", "1", timeout=10, pid=server.pid)
