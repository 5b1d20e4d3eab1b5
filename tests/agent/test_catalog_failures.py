"""When the agent cannot refresh the catalog, the launcher tells her why in one true sentence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from piclient.ui.i18n import STRINGS
from tests.agent.agent_process import AgentProcess
from tests.agent.protocol_server import ProtocolServer
from tests.launcher import Launcher

pytestmark = pytest.mark.timeout(90)

StartAgent = Callable[..., AgentProcess]
CATALOG = "/api/v1/catalog"


def reload(server: ProtocolServer) -> dict[str, Any]:
    command = server.queue_command("reload")
    return server.wait_for(lambda: server.state.results.get(command), 15, f"result of {command}")


def test_each_kind_of_catalog_failure_reaches_the_screen_and_the_heartbeat(
        server: ProtocolServer, start_agent: StartAgent, tv: Launcher, library: Path) -> None:
    start_agent()
    tv.wait_for(lambda s: s["screen"] == "home" and s["catalog"]["titles"] == 5, timeout=15)
    good = (library / "catalog.json").read_bytes()

    def broken_catalog() -> None:
        server.fault = None
        (library / "catalog.json").write_text('{"version": 1, "titles": [', encoding="utf-8")

    faults: list[tuple[str, Callable[[], None]]] = [
        # Only the catalog fails: heartbeats (and the reload command) still get through.
        ("setup", lambda: setattr(server, "fault", lambda method, path: 401 if path == CATALOG else None)),
        ("server", lambda: setattr(server, "fault", lambda method, path: 500 if path == CATALOG else None)),
        ("network", lambda: setattr(server, "fault", lambda method, path: "drop" if path == CATALOG else None)),
        ("broken", broken_catalog),
    ]
    for kind, make_it_fail in faults:
        make_it_fail()
        outcome = reload(server)
        assert outcome["ok"] is False and f"({kind})" in outcome["error"], outcome
        status = tv.wait_for(lambda s, kind=kind: s["catalog"]["error_kind"] == kind)
        assert status["overlay"]["footer"] == STRINGS[f"sync.{kind}"]["ko"]
        assert (status["screen"], status["catalog"]["titles"]) == ("home", 5)
        server.wait_for(lambda kind=kind: any(
            (hb.get("tv") or {}).get("catalog", {}).get("error_kind") == kind for hb in server.heartbeat_list()),
            10, f"a heartbeat reporting {kind}")

    server.fault = None
    (library / "catalog.json").write_bytes(good)
    assert reload(server)["ok"] is True
    status = tv.wait_for(lambda s: s["overlay"]["footer"] is None)
    assert (status["catalog"]["error"], status["catalog"]["error_kind"]) == (None, None)
