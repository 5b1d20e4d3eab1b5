"""A box whose disk is full, seen on the dashboard: the real agent, its spool on a real 1 MiB tmpfs,
the real server, the dashboard's JSON and page.

The agent's own test talks to the protocol test server, and the server's test sends a hand-made
spool error: only here do both ends meet, as they would on a Pi whose SD card filled up.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.agent.agent_process import AgentProcess, write_agent_config
from tests.server.helpers import RunningServer, device_id, login, running_server
from tests.small_disk import fill, small_disk
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(120)

DEVICE = "Living room"
FULL = "The box's disk is full"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    # One-second heartbeats, so the disk's state reaches the page within a few seconds.
    with running_server(tmp_path, None, "--heartbeat-seconds", "1") as running:
        running.set_password()
        yield running


def device_json(server: RunningServer, dashboard: requests.Session, did: int) -> dict[str, Any]:
    reply = dashboard.get(f"{server.url}/api/dash/devices/{did}", headers={"Accept-Language": "en"}, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()["device"]


def disk_full_warning(device: dict[str, Any]) -> dict[str, Any] | None:
    return next((w for w in device["warnings"] if w["key"] == "w_box_disk_full"), None)


def test_a_box_whose_disk_fills_up_shows_as_full_on_the_dashboard_not_offline(server: RunningServer,
                                                                               tmp_path: Path) -> None:
    _name, token = server.add_device(DEVICE)
    did = device_id(server, DEVICE)
    dashboard, _csrf = login(server)
    box = tmp_path / "box"
    box.mkdir()
    with small_disk(box / "data" / "agent") as agent_disk:
        agent = AgentProcess(box, write_agent_config(box, server.url, token=token, name=DEVICE))
        try:
            def online() -> bool:
                agent.check()
                return device_json(server, dashboard, did)["status"] == "online"

            wait_until(online, 30, "the box's first heartbeat on the dashboard")
            filler = fill(agent_disk)

            def full() -> dict[str, Any] | None:
                agent.check()
                device = device_json(server, dashboard, did)
                return device if disk_full_warning(device) else None

            device = wait_until(full, 30, "the dashboard saying the box's disk is full")
            assert device["status"] == "online"  # still heard from: the heartbeat went straight out
            warning = disk_full_warning(device)
            assert warning is not None and warning["text"].startswith(FULL), warning
            assert "full" in (warning["detail"] or "").lower(), warning  # the spool's own error, one tap away
            page = dashboard.get(f"{server.url}/devices/{did}", headers={"Accept-Language": "en"}, timeout=10).text
            assert re.search(r'id="warnings".*' + re.escape(FULL.replace("'", "&#39;")), page, re.S), page

            # Room again: the next spooled heartbeats carry no error and the warning goes.
            filler.unlink()
            wait_until(lambda: disk_full_warning(device_json(server, dashboard, did)) is None, 30,
                       "the warning gone once there is room")
        finally:
            agent.terminate()
