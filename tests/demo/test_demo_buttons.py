"""The demo's buttons do what they say, with the demo's real processes.

The demo's own config (``demo_config_text``), its launcher supervisor, a real `piclient agent` and a
real `piclient server`: "Restart TV app" stops the launcher process and starts a new one, "Fetch
logs" brings back the demo box's own log files, and "Reboot" (which the demo cannot do) is not offered.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from piclient.demo.launcher import PID_FILE, LauncherSupervisor
from piclient.demo.run import DEVICE_NAME, demo_config_text
from tests.agent.agent_process import AgentProcess
from tests.catalogs import film, write_catalog
from tests.launcher import status_at
from tests.server.helpers import RunningServer, login, running_server
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(120)


@dataclass
class Demo:
    server: RunningServer
    root: Path
    supervisor: LauncherSupervisor
    agent: AgentProcess
    session: requests.Session
    csrf: str
    device_id: int

    def launcher_pid(self) -> int | None:
        try:
            return int((self.root / PID_FILE).read_text())
        except (OSError, ValueError):
            return None

    def launcher_answers(self) -> dict[str, Any] | None:
        return status_at(self.root / "tv.sock")

    def command(self, kind: str, args: dict[str, Any] | None = None, timeout: float = 60) -> dict[str, Any]:
        """Press the dashboard's button for ``kind``; the command as the page lists it once it ended."""
        queued = self.session.post(f"{self.server.url}/api/dash/devices/{self.device_id}/commands",
                                   json={"type": kind, "args": args or {}}, headers={"X-CSRF-Token": self.csrf},
                                   timeout=10).json()["command"]

        def finished() -> dict[str, Any] | None:
            self.agent.check()
            for c in self.page()["commands"]:
                if c["id"] == queued["id"] and c["status"] in ("done", "failed"):
                    return c
            return None

        return wait_until(finished, timeout, f"the {kind} command's result")

    def page(self) -> dict[str, Any]:
        return self.session.get(f"{self.server.url}/api/dash/devices/{self.device_id}", timeout=10).json()


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Demo]:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    library = tmp_path / "library"
    write_catalog(library / "catalog.json", [film("spring-day", "봄날", "Spring Day")])
    root = tmp_path / "demo"
    root.mkdir()
    with running_server(tmp_path, None, "--library", str(library), "--heartbeat-seconds", "1") as server:
        server.set_password()
        _name, token = server.add_device(DEVICE_NAME)
        config = root / "demo.yaml"
        config.write_text(demo_config_text(server.url, token, root, silent=True), encoding="utf-8")
        supervisor = LauncherSupervisor(config, root).start()
        agent = AgentProcess(root, config)  # logs to root/agent.log, one of the demo's log files
        try:
            session, csrf = login(server)
            devices = session.get(f"{server.url}/api/dash/devices", timeout=10).json()["devices"]
            device_id = next(d["id"] for d in devices if d["name"] == DEVICE_NAME)
            yield Demo(server, root, supervisor, agent, session, csrf, device_id)
        finally:
            agent.terminate()
            supervisor.stop()


def test_restart_tv_app_in_the_demo_really_starts_a_new_launcher(demo: Demo) -> None:
    first = wait_until(demo.launcher_pid, 30, "the demo launcher's pid file")
    before = wait_until(demo.launcher_answers, 30, "the demo launcher answering")
    result = demo.command("restart_tv")
    assert result["status"] == "done", result
    second = demo.launcher_pid()
    assert second is not None and second != first
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)  # the old launcher is gone, not just told about it
    after = wait_until(demo.launcher_answers, 30, "the new launcher answering")
    assert after["uptime"] < before["uptime"] + 30 and demo.supervisor.starts == 2


def test_fetch_logs_in_the_demo_brings_back_the_demo_boxs_own_logs(demo: Demo) -> None:
    wait_until(demo.launcher_answers, 30, "the demo launcher answering")
    result = demo.command("upload_logs", {"since_s": 3600})
    assert result["status"] == "done", result
    assert "KB of logs" in result["outcome"]
    page = demo.session.get(f"{demo.server.url}/devices/{demo.device_id}", timeout=10).text
    upload_id = page.split(f"/devices/{demo.device_id}/logs/", 1)[1].split(".txt", 1)[0]
    text = demo.session.get(f"{demo.server.url}/devices/{demo.device_id}/logs/{upload_id}.txt", timeout=10).text
    assert f"==> {demo.root / 'agent.log'} <==" in text and f"==> {demo.root / 'tv.log'} <==" in text
    assert "agent for 'Demo TV' reporting to" in text  # the agent's own start-up line
    # The launcher's, from tv.log: it opens its control socket before it answers, so the line is there
    # by now; its catalog line may come a moment later on a busy machine.
    assert "piclient.control.server: control socket at" in text
    assert "No journal files were found" not in text


def test_the_demo_does_not_offer_a_reboot_it_cannot_do(demo: Demo) -> None:
    wait_until(lambda: demo.page()["device"]["status"] == "online", 30, "the demo box online")
    assert "reboot" not in demo.page()["device"]["offers"]
    page = demo.session.get(f"{demo.server.url}/devices/{demo.device_id}", timeout=10).text
    assert 'data-command="reboot"' not in page and 'data-command="restart_tv"' in page
    result = demo.command("reboot")  # sent anyway (an old page, a script): refused, never "done"
    assert result["status"] == "failed" and "does not offer" in result["outcome"]
