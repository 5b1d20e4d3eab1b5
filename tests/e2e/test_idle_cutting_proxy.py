"""A proxy that cuts idle connections sooner than the box's poll is held: the box learns to stay under it.

Common proxies cut a connection idle for 60 s; the box asks for 41-55 s, so they never cut its poll.
This one (a real TCP relay between a real agent and a real server) cuts after 12 s of silence: the
first held poll is cut, the box holds its polls 10 s from then on, no poll is cut again, and a key
still reaches the box at once.
"""

from __future__ import annotations

import contextlib
import re
import select
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from piclient.server.schema import commands
from tests.agent.agent_process import AgentProcess, write_agent_config
from tests.server.helpers import RunningServer, device_id, login, running_server
from tests.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]  # 40 s of real idle time: `make test-slow`

IDLE_CUT_S = 12.0
POLL = re.compile(rb"GET /api/v1/commands\?wait=(\d+)")


class IdleCuttingProxy:
    """Relays TCP to ``target``; a connection with no bytes either way for ``idle_s`` is closed at both ends."""

    def __init__(self, target: tuple[str, int], idle_s: float) -> None:
        self.target = target
        self.idle_s = idle_s
        self.waits: list[int] = []  # the wait of every command poll that went through
        self.cut_polls = 0  # connections cut while a command poll waited on them
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name="proxy", daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self._closed.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(client)
            upstream = stack.enter_context(socket.create_connection(self.target, timeout=10))
            polling = False  # a command poll was sent and its answer has not begun
            while not self._closed.is_set():
                ready, _, _ = select.select([client, upstream], [], [], self.idle_s)
                if not ready:
                    if polling:
                        with self._lock:
                            self.cut_polls += 1
                    return  # idle too long: both ends closed by the ExitStack
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        found = POLL.search(data)
                        if found:
                            polling = True
                            with self._lock:
                                self.waits.append(int(found.group(1)))
                        upstream.sendall(data)
                    else:
                        polling = False
                        client.sendall(data)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with running_server(tmp_path, None, "--heartbeat-seconds", "3600") as running:
        running.set_password()
        yield running


def test_a_proxy_cutting_idle_connections_at_12_s_makes_the_box_hold_its_poll_under_it(
        tmp_path: Path, server: RunningServer) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    proxy = IdleCuttingProxy((host, int(port)), IDLE_CUT_S)
    name, token = server.add_device()
    box = tmp_path / "box"
    box.mkdir()
    agent = AgentProcess(box, write_agent_config(box, proxy.url, token=token, name=name, heartbeat_seconds=3600))
    try:
        wait_until(lambda: proxy.cut_polls >= 1, 45, "a held poll cut by the proxy")
        wait_until(lambda: proxy.waits[-1] <= 10, 20, "the box holding its polls under the proxy's limit")
        shorter = len(proxy.waits)
        cuts = proxy.cut_polls
        wait_until(lambda: len(proxy.waits) >= shorter + 2, 40, "two more polls held to their end")
        assert proxy.cut_polls == cuts
        assert all(w <= 10 for w in proxy.waits[shorter - 1:])
        # Through the proxy, a key still reaches the box at once (there is no launcher: it fails, and says so).
        session, csrf = login(server)
        queued = session.post(f"{server.url}/api/dash/devices/{device_id(server, name)}/commands",
                              json={"type": "key", "args": {"name": "up"}}, headers={"X-CSRF-Token": csrf},
                              timeout=10).json()["command"]["id"]

        def answered() -> bool:
            return server.db.read_sync(lambda conn: conn.execute(
                sa.select(commands.c.status).where(commands.c.id == queued)).scalar_one()) in ("done", "failed")

        wait_until(answered, 8, "the key's result, long before the hourly heartbeat")
        agent.check()
        assert "holding at most 10 s from now on" in agent.log()
    finally:
        agent.terminate()
        proxy.close()
