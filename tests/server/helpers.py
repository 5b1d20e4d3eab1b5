"""Reusable pieces for server tests (and the end-to-end tests that will drive a real agent).

``running_server(tmp_path)`` starts ``piclient server`` in a subprocess on 127.0.0.1 with a free port
and gives back its URL, data dir and functions to add devices and set the password.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from PIL import Image

from piclient.protocol import (
    CecSection,
    DeviceInfo,
    Heartbeat,
    NowPlaying,
    SpoolSection,
    SystemSection,
    TvSection,
)
from piclient.server import migrate
from piclient.server.db import Database, default_url
from piclient.server.devices import add_device, revoke_device
from piclient.server.passwords import set_password
from piclient.server.serve import wait_until_listening
from tests.waiting import poll_until

PASSWORD = "correct horse battery"
START_TIMEOUT_S = 60


@dataclass
class RunningServer:
    url: str  # without a trailing slash
    data_dir: Path
    database_url: str
    process: subprocess.Popen[str]
    log_path: Path
    _db: Database | None = field(default=None, repr=False)

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.database_url)
        return self._db

    def add_device(self, name: str | None = None) -> tuple[str, str]:
        """(name, token) of a new device."""
        name = name or f"box-{uuid.uuid4().hex[:8]}"
        return name, self.db.write_sync(add_device, name)

    def revoke_device(self, name: str) -> None:
        self.db.write_sync(revoke_device, name)

    def set_password(self, password: str = PASSWORD) -> None:
        self.db.write_sync(set_password, password)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@contextlib.contextmanager
def migrated_database(url: str) -> Iterator[Database]:
    """A Database on ``url`` with every migration applied, closed afterwards."""
    database = Database(url)
    try:
        migrate.upgrade(database.writer_engine)
        yield database
    finally:
        database.close()


def _limit_file_size(limit: int) -> None:
    import resource
    import signal

    # A write past the limit then fails with EFBIG (after a short write) instead of killing the process,
    # exactly as on a disk that is nearly full. An ignored signal stays ignored across exec.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def start_server(data_dir: Path, database_url: str | None = None, *extra: str,
                 file_size_limit: int | None = None, listen: str = "127.0.0.1:0") -> RunningServer:
    """``listen`` names a port only to start a server again where its boxes look for it (a restart)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url or default_url(data_dir)
    # Migrate before the server starts, so tests may add devices the moment it is up.
    with migrated_database(url):
        pass
    log_path = data_dir / "server.log"
    args = [sys.executable, "-m", "piclient.server.cli", "--data", str(data_dir), "--listen", listen,
            "--database", url, "--log-level", "warning", *extra]
    log_file = open(log_path, "w")  # noqa: SIM115 - handed to the child, closed below
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log_file, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"},
                               preexec_fn=None if file_size_limit is None else lambda: _limit_file_size(
                                   file_size_limit))
    log_file.close()
    address = wait_until_listening(process, START_TIMEOUT_S)
    if address is not None:
        return RunningServer(address, data_dir, url, process, log_path)
    process.kill()
    raise RuntimeError(f"the server did not start:\n{log_path.read_text(errors='replace')}")


@contextlib.contextmanager
def running_server(tmp_path: Path, database_url: str | None = None, *extra: str,
                   file_size_limit: int | None = None) -> Iterator[RunningServer]:
    server = start_server(tmp_path / "server-data", database_url, *extra, file_size_limit=file_size_limit)
    try:
        yield server
    finally:
        server.stop()


# --- talking to it -------------------------------------------------------------------------------


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def held_polls(server: RunningServer) -> int:
    """How many boxes hold a command poll open on this server, as its /metrics says."""
    text = requests.get(f"{server.url}/metrics", timeout=10).text
    found = re.search(r"^piclient_command_polls_held (\S+)$", text, re.M)
    assert found, "no piclient_command_polls_held in /metrics"
    return int(float(found.group(1)))


def device_id(server: RunningServer, name: str) -> int:
    from piclient.server.devices import list_devices

    return next(row.id for row in server.db.read_sync(list_devices) if row.name == name)


def now_playing(ident: str = "spring-day", title: str = "봄날", **fields: Any) -> dict[str, Any]:
    """A launcher's now_playing as the wire carries it, built with the shared model."""
    return NowPlaying(id=ident, title_id=fields.pop("title_id", ident), title={"ko": title}, **fields).wire()


def heartbeat_body(record_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A box's heartbeat built with the shared model; ``overrides`` replace whole sections as raw JSON
    (which is how tests send what no model would build)."""
    body = Heartbeat(
        id=record_id or uuid.uuid4().hex, sent_at=time.time(),
        device=DeviceInfo(name="Living room", version="0.1.0", uptime_s=3600),
        tv=TvSection(state="running", screen="home", focused="spring-day"),
        system=SystemSection(cpu_temp_c=51.2, throttled={"raw": "0x0", "under_voltage_now": False,
                                                         "under_voltage_occurred": False, "throttled_now": False,
                                                         "throttled_occurred": False},
                             load=[0.1, 0.2, 0.3], mem_total=1000, mem_available=500, disk_total=1000,
                             disk_free=500, wifi={"interface": "wlan0", "signal_dbm": -61, "quality": 0.7}),
        cec=CecSection(adapter="open", tv_power="on", active_source=True),
        spool=SpoolSection(),
    ).wire()
    body.update(overrides)
    return body


def send_heartbeat(server: RunningServer, token: str, **overrides: Any) -> requests.Response:
    return requests.post(f"{server.url}/api/v1/heartbeat", json=heartbeat_body(**overrides), headers=auth(token),
                         timeout=10)


def jpeg(width: int = 320, height: int = 180, colour: tuple[int, int, int] = (30, 90, 200),
         exif: bytes | None = None) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG", quality=80, **({"exif": exif} if exif else {}))
    return out.getvalue()


def upload_screenshot(server: RunningServer, token: str, data: bytes, record_id: str | None = None,
                      content_type: str = "image/jpeg", reason: str = "demand") -> requests.Response:
    headers = {**auth(token), "Content-Type": content_type, "X-Record-Id": record_id or uuid.uuid4().hex,
               "X-Taken-At": str(time.time()), "X-Reason": reason}
    return requests.post(f"{server.url}/api/v1/screenshots", data=data, headers=headers, timeout=10)


def login(server: RunningServer, password: str = PASSWORD) -> tuple[requests.Session, str]:
    """A logged-in session and its CSRF token."""
    session = requests.Session()
    page = session.get(f"{server.url}/login", timeout=10)
    form_token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    reply = session.post(f"{server.url}/login", data={"csrf": form_token, "password": password, "next": "/"},
                         timeout=10, allow_redirects=False)
    assert reply.status_code == 303, reply.text
    home = session.get(f"{server.url}/", timeout=10)
    csrf = home.text.split('<meta name="csrf" content="', 1)[1].split('"', 1)[0]
    return session, csrf


class AlertReceiver:
    """An HTTP endpoint on 127.0.0.1 that records every POST (webhook JSON or ntfy-style text)."""

    def __init__(self) -> None:
        import http.server
        import json

        received: list[tuple[str, dict[str, str], Any]] = []
        self.received = received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                is_json = self.headers.get("content-type", "").startswith("application/json")
                received.append((self.path, dict(self.headers), json.loads(body) if is_json else body.decode()))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def events(self, path: str = "/hook") -> list[Any]:
        return [body for p, _h, body in self.received if p == path]

    def wait_for(self, predicate: Any, timeout: float = 15.0) -> bool:
        return poll_until(predicate, timeout)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
