"""When the agent cannot refresh the catalog, the launcher tells her why in one true sentence."""

from __future__ import annotations

import time
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


@pytest.mark.parametrize(("fault", "kind"), [("drop", "network"), (503, "server"), (401, "setup")])
def test_a_server_the_agent_cannot_ask_at_all_still_reaches_the_footer(
        server: ProtocolServer, start_agent: StartAgent, tv: Launcher, fault: Any, kind: str) -> None:
    # A box that starts while its server is down (or refuses it) never gets to ask for the catalog: the
    # transport holds every request back after the first failure. The footer must still say why.
    first = start_agent()
    tv.wait_for(lambda s: s["screen"] == "home" and s["catalog"]["titles"] == 5, timeout=15)
    assert first.terminate() == 0
    server.fault = lambda method, path: fault
    restarted = time.monotonic()
    start_agent(auth_retry_seconds=2)  # a refused box asks again every 10 min by default
    status = tv.wait_for(lambda s: s["catalog"]["error_kind"] == kind, timeout=20)
    assert status["overlay"]["footer"] == STRINGS[f"sync.{kind}"]["ko"]
    # Told without a catalog request of its own: with the real backoff (minutes) none would go out
    # for a long time, since every opening of the gate is taken by a heartbeat or the progress pull.
    assert not [seen for seen in server.requests_to(CATALOG) if seen.at > restarted]
    assert (status["screen"], status["catalog"]["titles"]) == ("home", 5)
    server.fault = None
    # Back: the next request that gets through is a heartbeat; the reload it carries clears the note.
    reload(server)
    status = tv.wait_for(lambda s: s["overlay"]["footer"] is None, timeout=30)
    assert status["catalog"]["error_kind"] is None
