"""Commands from the dashboard reach the real launcher, run at most once, and report back."""

from __future__ import annotations

import io
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from piclient.control.client import ControlClient, ControlUnavailable
from piclient.protocol import CommandResult
from tests.agent.agent_process import AgentProcess
from tests.agent.protocol_server import ProtocolServer
from tests.launcher import Launcher, write_config

pytestmark = pytest.mark.timeout(90)

StartAgent = Callable[..., AgentProcess]
START_LAUNCHER = Path(__file__).with_name("start_launcher.py")


def result(server: ProtocolServer, command_id: str, timeout: float = 15) -> dict[str, Any]:
    """The result the box sent, read through the shared model: its ok, result and error."""
    sent = server.wait_for(lambda: server.state.results.get(command_id), timeout, f"result of {command_id}")
    return CommandResult.read(sent).model_dump(include={"ok", "result", "error"})


def home(tv: Launcher) -> dict[str, Any]:
    return tv.wait_for(lambda s: s["screen"] == "home" and s["catalog"]["titles"] == 5, timeout=15)


def test_keys_messages_and_screenshots_from_the_server_reach_the_tv(
        server: ProtocolServer, start_agent: StartAgent, tv: Launcher) -> None:
    start_agent()
    before = home(tv)["focus"]["focused"]
    key = server.queue_command("key", {"name": "right"})
    text = "엄마, 저녁에 전화할게요"
    message = server.queue_command("message", {"text": text, "seconds": 60})
    shot = server.queue_command("screenshot")
    assert result(server, key) == {"ok": True, "result": {"button": "RIGHT"}, "error": None}
    assert result(server, message)["ok"] is True
    status = tv.status()
    assert status["focus"]["focused"] != before
    assert status["overlay"]["message"] == text
    taken = result(server, shot)
    assert taken["ok"] is True
    # The result goes straight to the server; the picture follows through the spool.
    picture = server.wait_for(lambda: server.state.screenshots.get(taken["result"]["id"]), 15, "the picture itself")
    assert picture["reason"] == "demand"
    assert Image.open(io.BytesIO(picture["data"])).size == (960, 540)


def test_bad_and_unknown_commands_are_answered_with_an_error_and_change_nothing(
        server: ProtocolServer, start_agent: StartAgent, tv: Launcher) -> None:
    start_agent()
    before = home(tv)["focus"]
    bad_key = server.queue_command("key", {"name": "self-destruct"})
    shell = server.queue_command("shell", {"command": "rm -rf /"})
    empty = server.queue_command("message", {"text": "   "})
    assert result(server, bad_key)["ok"] is False
    assert "unknown command type 'shell'" in result(server, shell)["error"]
    assert result(server, empty)["error"] == "message needs args.text"
    assert tv.status()["focus"] == before


def test_a_slow_command_delivered_with_every_heartbeat_runs_once(
        tmp_path: Path, server: ProtocolServer, start_agent: StartAgent, tv: Launcher) -> None:
    marker = tmp_path / "restarts.txt"
    # Appends a line and takes 2 s, like a service restart; the launcher itself stays up.
    slow = [sys.executable, "-c", f"import time; open({str(marker)!r}, 'a').write('ran\\n'); time.sleep(2)"]
    agent = start_agent(heartbeat_seconds=0.3, restart_tv_command=slow)
    home(tv)
    command = server.queue_command("restart_tv")
    assert result(server, command)["ok"] is True
    deliveries = [via for ident, via in server.state.deliveries if ident == command]
    assert len(deliveries) >= 4  # delivered again and again while it ran
    assert marker.read_text().splitlines() == ["ran"]
    # The server loses the result and sends the command again: the stored result goes back instead.
    del server.state.results[command]
    server.queue_command("restart_tv", command_id=command)
    assert result(server, command)["result"]["tv"] == "running"
    # And after an agent restart, the executed id is still known.
    assert agent.terminate() == 0
    del server.state.results[command]
    server.queue_command("restart_tv", command_id=command)
    start_agent(heartbeat_seconds=0.3, restart_tv_command=slow)
    result(server, command)
    assert marker.read_text().splitlines() == ["ran"]


def test_a_reboot_runs_once_and_its_result_arrives_first(
        tmp_path: Path, server: ProtocolServer, start_agent: StartAgent) -> None:
    marker = tmp_path / "reboots.txt"
    reboot = [sys.executable, "-c", f"open({str(marker)!r}, 'a').write('reboot\\n')"]
    start_agent(reboot_command=reboot)
    server.lose_results = 1  # the first result write is lost: the server asks again
    command = server.queue_command("reboot")
    assert result(server, command) == {"ok": True, "result": {"rebooting": True}, "error": None}
    time.sleep(1)
    assert marker.read_text().splitlines() == ["reboot"]
    assert server.state.result_posts.count(command) >= 2


@pytest.fixture
def restartable_tv(tmp_path: Path) -> Iterator[tuple[Launcher, list[str]]]:
    config = write_config(tmp_path, "")
    pid_file = tmp_path / "tv.pid"
    argv = [sys.executable, str(START_LAUNCHER), str(config), str(pid_file), str(tmp_path / "tv-restarted.log")]
    launcher = Launcher(tmp_path, config)
    yield launcher, argv
    launcher.stop()
    if pid_file.exists():
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGTERM)
        client = ControlClient(tmp_path / "tv.sock", timeout=1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.request("status")
            except ControlUnavailable:
                break
            time.sleep(0.1)


def test_a_stopped_tv_app_is_reported_and_restart_tv_brings_it_back(
        server: ProtocolServer, start_agent: StartAgent, restartable_tv: tuple[Launcher, list[str]]) -> None:
    launcher, restart = restartable_tv
    start_agent(restart_tv_command=restart)
    server.wait_for(lambda: any(b["tv"]["state"] == "running" for b in server.heartbeat_list()), 15, "running")
    launcher.stop()
    server.wait_for(lambda: server.heartbeat_list()[-1]["tv"]["state"] == "crashed", 10, "crashed")
    assert "not running" in server.heartbeat_list()[-1]["tv"]["detail"]
    command = server.queue_command("restart_tv")
    assert result(server, command, timeout=40) == {"ok": True, "result": {"returncode": 0, "tv": "running"},
                                                    "error": None}
    server.wait_for(lambda: server.heartbeat_list()[-1]["tv"]["state"] == "running", 10, "running again")


def test_reload_syncs_the_catalog_now_and_tells_the_launcher(
        server: ProtocolServer, start_agent: StartAgent, tv: Launcher, library: Path) -> None:
    start_agent()
    home(tv)
    catalog = library / "catalog.json"
    catalog.write_text(catalog.read_text(encoding="utf-8").replace('"영화 1"', '"새 이름"'), encoding="utf-8")
    command = server.queue_command("reload")
    outcome = result(server, command)
    assert outcome["ok"] is True
    assert outcome["result"]["changed"] is True and outcome["result"]["launcher_told"] is True


def test_log_upload_resumes_after_a_broken_connection_and_a_conflict(
        tmp_path: Path, server: ProtocolServer, start_agent: StartAgent) -> None:
    log_file = tmp_path / "tv-app.log"
    content = b"".join(f"2025-01-01T00:00:{n % 60:02d} piclient-tv: line {n} {'x' * 40}\n".encode()
                       for n in range(20_000))  # ~1.3 MB: six chunks
    log_file.write_bytes(content)
    puts = {"n": 0}

    def faults(method: str, path: str) -> str | None:
        if method != "PUT":
            return None
        puts["n"] += 1
        if puts["n"] == 2:
            return "drop_after"  # stored, but the reply never arrives
        if puts["n"] == 4:
            held = next(iter(server.state.logs.values()))
            del held[-1000:]  # the server lost the end of its last write: the next PUT gets 409
        return None

    server.fault = faults
    start_agent(log_file=str(log_file))
    command = server.queue_command("upload_logs", {"since_s": 3600})
    outcome = result(server, command, timeout=30)
    assert outcome["ok"] is True, outcome
    upload = outcome["result"]["upload_id"]
    assert bytes(server.state.logs[upload]) == content
    assert upload in server.state.logs_done
    assert server.state.log_conflicts >= 1
    assert outcome["result"]["resumed"] >= 2
