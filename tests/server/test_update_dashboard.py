"""A real agent process and a real server: the offer reaches the agent, the bundle lands on the box
for the updater, and the update's state (with why it was rolled back) reaches the dashboard."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from piclient import __version__
from piclient.server.schema import devices
from piclient.update import alive, runner, status
from piclient.update.layout import Layout
from tests.agent.agent_process import AgentProcess, write_agent_config
from tests.server.helpers import RunningServer, login, send_heartbeat
from tests.server.test_updates import _cli
from tests.update.versions import build_bundle
from tests.waiting import wait_until


def _reported(server: RunningServer, name: str) -> dict:
    with server.db.reader.connect() as conn:
        raw = conn.execute(sa.select(devices.c.last_heartbeat).where(devices.c.name == name)).scalar()
    return json.loads(raw) if raw else {}


def test_an_offer_reaches_a_real_agent_and_its_rollback_reaches_the_dashboard(server: RunningServer,
                                                                              tmp_path: Path) -> None:
    name, token = server.add_device()
    path, sha = build_bundle(tmp_path, "9.0")
    assert _cli(server, "publish-bundle", str(path), "--offer", name).returncode == 0
    box = tmp_path / "box"
    box.mkdir()
    agent = AgentProcess(box, write_agent_config(box, server.url, token=token, name=name))
    layout = Layout(root=box / "data" / "updates")
    try:
        request = wait_until(lambda: (agent.check(), runner.Request.load(layout.request))[1], 60,
                             "the agent handing the bundle to the updater")
        assert request.sha256 == sha and request.version == "9.0"
        assert request.bundle.read_bytes() == path.read_bytes()
        assert alive.last(layout.alive, __version__) is not None  # proof of life for the updater
        wait_until(lambda: (_reported(server, name).get("update") or {}).get("state") == "downloading", 120,
                   "the download reported")

        # What the image's updater leaves after a failed trial; the (old) agent reports it.
        status.write(layout.status, "rolled_back", "9.0", from_version=__version__,
                     reason="piclient-tv.service restarted 3 times in 9 s (crash loop)",
                     log_tail="tv: RuntimeError: boom <script>", running="factory")
        layout.request.unlink()
        # The server asks for a heartbeat every 30 s, whatever the agent's config says.
        wait_until(lambda: (_reported(server, name).get("update") or {}).get("state") == "rolled_back", 120,
                   "the rollback reported")
        # Not taken again: the version this box rolled back stays rolled back until another is offered.
        assert not layout.request.exists()
    finally:
        agent.terminate()

    session, _ = login(server)
    page = session.get(f"{server.url}/updates", timeout=10).text
    row = page.split(f'data-device="{name}"', 1)[1].split("</tr>", 1)[0]
    assert f">{__version__}<" in row and ">9.0<" in row
    assert "rolled back" in row and "crash loop" in row
    assert "&lt;script&gt;" in row  # log lines are escaped
    assert 'data-version="9.0"' in page


def test_the_dashboard_offers_a_version_to_all_boxes(server: RunningServer, tmp_path: Path) -> None:
    first, _ = server.add_device()
    second, _ = server.add_device()
    path, _ = build_bundle(tmp_path, "10.0")
    assert _cli(server, "publish-bundle", str(path), "--offer", first).returncode == 0
    session, csrf = login(server)
    reply = session.post(f"{server.url}/updates/offer", data={"csrf": csrf, "version": "10.0", "device": "*"},
                         timeout=10)
    assert reply.status_code == 200 and "10.0" in reply.text
    with server.db.reader.connect() as conn:
        offered = dict(conn.execute(sa.select(devices.c.name, devices.c.offered_version)
                                    .where(devices.c.name.in_([first, second]))).all())
    assert offered == {first: "10.0", second: "10.0"}
    forged = session.post(f"{server.url}/updates/offer", data={"csrf": "wrong", "version": "10.0", "device": "*"},
                          timeout=10)
    assert forged.status_code == 403


def test_a_rollback_s_reason_and_log_lines_lose_control_and_bidi_characters(server: RunningServer) -> None:
    name, token = server.add_device()
    update = {"state": "rolled_back", "version": "9.1", "reason": "crash \u202eloop\x07",
              "log_tail": "tv:\tstarted\ntv:\t\u202egnp.exe\u2069 \x1b[1mboom\x85\rtv: gone\n"}
    assert send_heartbeat(server, token, update=update).status_code == 200
    session, _ = login(server)
    page = session.get(f"{server.url}/updates", timeout=10).text
    row = page.split(f'data-device="{name}"', 1)[1].split("</tr>", 1)[0]
    assert "crash loop" in row
    assert '<pre data-field="log_tail">tv:\tstarted\ntv:\tgnp.exe [1mboom\ntv: gone\n</pre>' in row
