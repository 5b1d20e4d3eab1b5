"""Run the app under uvicorn on a socket we bind ourselves, so port 0 works and the address is printed."""

from __future__ import annotations

import asyncio
import queue
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import uvicorn

from piclient.server.app import build_app
from piclient.server.settings import Settings
from piclient.service import Service

ANNOUNCE = "piclient server: listening on "

# Long-polls last up to 25 s; on SIGTERM they are cut after this, and the box simply polls again.
GRACEFUL_S = 5


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, announce: str, app: Any) -> None:
        super().__init__(config)
        self.announce = announce
        self.app = app
        self._loop: asyncio.AbstractEventLoop | None = None
        self.service = Service()
        self._watchdog: asyncio.Task[None] | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets=sockets)

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)
        self.service.stopping()
        # Open long-polls would otherwise hold the graceful shutdown for its whole timeout.
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.app.state.server.wakeups.close)
            self._loop.call_soon_threadsafe(self.app.state.server.page_wakeups.close)
            self._loop.call_soon_threadsafe(self.app.state.server.library_wakeups.close)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            # Printed only once migrations ran and the app is ready: tests and scripts wait for this line.
            print(self.announce, flush=True, file=sys.stdout)
            self.service.ready(self.announce.strip())
            self._watchdog = asyncio.create_task(self._ping_watchdog(), name="watchdog")

    async def _ping_watchdog(self) -> None:
        # On the event loop itself: a loop blocked by a stuck request handler stops the pings.
        while not self.should_exit:
            self.service.watchdog()
            await asyncio.sleep(1.0)


def serve(settings: Settings, *, log_level: str = "info", access_log: bool = False) -> int:
    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    app = build_app(settings)
    config = uvicorn.Config(
        app, log_level=log_level, access_log=access_log, lifespan="on",
        proxy_headers=settings.trust_proxy is not None, forwarded_allow_ips=settings.trust_proxy or "",
        timeout_graceful_shutdown=GRACEFUL_S, server_header=False, ws="none")
    server = _Server(config, f"{ANNOUNCE}http://{shown}:{port}/", app)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0 if server.started else 1


def wait_until_listening(process: subprocess.Popen[str], timeout: float) -> str | None:
    """The base URL (no trailing slash) a just-started ``piclient server`` child announced on its stdout,
    or None when it exited or stayed silent for ``timeout`` seconds. The announcement comes only once
    migrations ran and the app is ready, so callers may use the server the moment this returns."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, name="server-stdout", daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if process.poll() is not None:
                return None
            continue
        if ANNOUNCE in line:
            return line.split(ANNOUNCE, 1)[1].strip().rstrip("/")
    return None
