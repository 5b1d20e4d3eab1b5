"""A box whose disk fills up keeps reporting: heartbeats go straight to the server, carrying the spool's error."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.agent.agent_process import AgentProcess
from tests.agent.protocol_server import ProtocolServer
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(90)


@contextlib.contextmanager
def small_disk(path: Path, size: str = "1m") -> Iterator[Path]:
    """A real, tiny filesystem (tmpfs) at ``path``; the test is skipped where mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    """Write until the filesystem says it is full."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:  # bounded by the filesystem's size: each pass writes a block or raises
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


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
