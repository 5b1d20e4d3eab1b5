"""A box whose disk fills up keeps reporting: heartbeats go straight to the server, carrying the spool's error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.agent.agent_process import AgentProcess
from tests.agent.protocol_server import ProtocolServer
from tests.small_disk import fill, small_disk
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(90)


def test_a_full_disk_turns_into_a_warning_on_the_dashboard_not_silence(
        tmp_path: Path, server: ProtocolServer, start_agent: Callable[..., AgentProcess]) -> None:
    with small_disk(tmp_path / "data" / "agent"):
        agent = start_agent()
        server.wait_for(lambda: server.heartbeat_list() or None, 20, "a first heartbeat")
        filler = fill(tmp_path / "data" / "agent")

        def direct() -> dict | None:
            agent.check()
            return next((h for h in reversed(server.heartbeat_list()) if h.get("spool", {}).get("error")), None)

        beat = server.wait_for(direct, 30, "a heartbeat carrying the spool's error")
        assert beat["spool"]["disk_full"] is True, beat["spool"]
        assert "full" in beat["spool"]["error"]
        assert "cannot spool a heartbeat" in agent.log()
        # Room again: heartbeats are spooled as before, and say nothing of an error.
        filler.unlink()
        wait_until(lambda: not (server.heartbeat_list()[-1].get("spool") or {}).get("error"), 30, "a spooled heartbeat")
        assert agent.log().count("cannot spool a heartbeat") == 1  # loud once, not every few seconds
        agent.terminate()
