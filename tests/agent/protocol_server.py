"""A small real HTTP server on 127.0.0.1 speaking the device side of docs/protocol.md.

It stores what a faithful server stores (records once per id, command results, progress by newest
``updated_at``, log uploads by offset), records every request it saw, and can misbehave on demand:
``fault(method, path)`` may return a status code, "hang" (hold the request until released),
"drop" (close without answering, nothing stored), "drop_after" (store, then close without answering)
or ``(status, body)`` (answer exactly that, whatever the request was).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import ValidationError

from piclient.protocol import CommandResult, Heartbeat, problems
from tests.waiting import wait_until

TOKEN = "device-token-for-tests"
MAX_SCREENSHOT = 2 * 1024 * 1024
MAX_LOG_CHUNK = 256 * 1024
LONG_POLL_MAX_S = 60
REDELIVER_AFTER_S = 5.0  # a long-poll does not hand out a command it handed out this recently

Fault = Callable[[str, str], "int | str | tuple[int, bytes] | None"]


@dataclass
class Seen:
    method: str
    path: str
    status: int
    bytes_in: int  # request line + headers + body, as the box sent them
    bytes_out: int
    at: float
    record_id: str | None = None


@dataclass
class Queued:
    command: dict[str, Any]
    delivered_at: float = 0.0


@dataclass
class State:
    heartbeats: dict[str, dict[str, Any]] = field(default_factory=dict)  # stored once per id, in order
    heartbeat_posts: list[str] = field(default_factory=list)  # every accepted POST's id, duplicates too
    screenshots: dict[str, dict[str, Any]] = field(default_factory=dict)
    screenshot_posts: list[str] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    result_posts: list[str] = field(default_factory=list)
    queue: list[Queued] = field(default_factory=list)
    progress: dict[str, dict[str, Any]] = field(default_factory=dict)
    progress_posts: list[str] = field(default_factory=list)
    logs: dict[str, bytearray] = field(default_factory=dict)
    logs_done: set[str] = field(default_factory=set)
    log_conflicts: int = 0
    deliveries: list[tuple[str, str]] = field(default_factory=list)  # (command id, "heartbeat" | "long-poll")


class ProtocolServer:
    def __init__(self, library: Path | None = None, token: str = TOKEN) -> None:
        self.token = token
        self.library = library.resolve() if library else None
        self.fault: Fault | None = None
        self.heartbeat_seconds: float | None = None
        self._live_window: dict[str, Any] | None = None
        self.lose_results = 0  # answer this many result posts with 200 but forget them (a lost write)
        self.state = State()
        self.seen: list[Seen] = []  # finished requests
        self.started: list[tuple[str, str, float]] = []  # every request as it began, long-polls too
        self.poll_queries: list[dict[str, str]] = []  # the query of every command poll, as it began
        self.lock = threading.Condition()
        self.release = threading.Event()  # ends every "hang"
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.protocol = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="protocol-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.release.set()
        with self.lock:
            self.lock.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ProtocolServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- for tests ---------------------------------------------------------------------------------

    @property
    def live(self) -> dict[str, Any] | None:
        """Live mode as the page sets it: sent in replies until its "until" passes."""
        return self._live_window

    @live.setter
    def live(self, window: dict[str, Any] | None) -> None:
        with self.lock:
            self._live_window = window
            self.lock.notify_all()  # a held command poll answers with it at once, as the real server's does

    def queue_command(self, kind: str, args: dict[str, Any] | None = None, command_id: str | None = None) -> str:
        command_id = command_id or uuid.uuid4().hex[:12]
        with self.lock:
            self.state.queue.append(Queued({"id": command_id, "type": kind, "args": args or {}}))
            self.lock.notify_all()
        return command_id

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path.startswith(path_prefix) and (method is None or s.method == method)]

    def heartbeat_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.state.heartbeats.values())

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
        return wait_until(predicate, timeout, what)

    # -- protocol ----------------------------------------------------------------------------------

    def handle(self, h: _Handler, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"error": "unknown or revoked device token"}
        s = self.state
        if method == "POST" and path == "/api/v1/heartbeat":
            doc = _json(body)
            try:
                Heartbeat.read(doc)  # the agent's heartbeats must fit the shared model, field by field
            except ValidationError as exc:
                return 400, {"error": f"the heartbeat does not fit the protocol: {problems(exc)}"}
            with self.lock:
                s.heartbeats.setdefault(doc["id"], doc)
                s.heartbeat_posts.append(doc["id"])
                reply: dict[str, Any] = {"ok": True, "commands": [q.command for q in s.queue],
                                         "live": self._live()}
                for q in s.queue:
                    q.delivered_at = time.monotonic()
                    s.deliveries.append((q.command["id"], "heartbeat"))
            if self.heartbeat_seconds is not None:
                reply["heartbeat_seconds"] = self.heartbeat_seconds
            h.record_id = doc["id"]
            return 200, reply
        if method == "GET" and path == "/api/v1/commands":
            return 200, self._long_poll(min(LONG_POLL_MAX_S, max(0, int(query.get("wait", "0") or 0))),
                                        query.get("live") == "1")
        if method == "POST" and path.startswith("/api/v1/commands/") and path.endswith("/result"):
            command_id = unquote(path[len("/api/v1/commands/"):-len("/result")])
            doc = _json(body)
            try:
                CommandResult.read(doc)
            except ValidationError as exc:
                return 400, {"error": f"the result does not fit the protocol: {problems(exc)}"}
            with self.lock:
                s.result_posts.append(command_id)
                if self.lose_results > 0:
                    self.lose_results -= 1
                    return 200, {"ok": True}
                s.results.setdefault(command_id, doc)
                s.queue = [q for q in s.queue if q.command["id"] != command_id]
            return 200, {"ok": True}
        if method == "POST" and path == "/api/v1/screenshots":
            record_id = h.headers.get("X-Record-Id", "")
            if h.headers.get("Content-Type") != "image/jpeg" or not body.startswith(b"\xff\xd8"):
                return 415, {"error": "not a JPEG"}
            if len(body) > MAX_SCREENSHOT or not record_id:
                return 413, {"error": "too large or no record id"}
            with self.lock:
                s.screenshots.setdefault(record_id, {"reason": h.headers.get("X-Reason"), "bytes": len(body),
                                                     "taken_at": float(h.headers.get("X-Taken-At", "0")),
                                                     "received_at": time.time(), "data": body})
                s.screenshot_posts.append(record_id)
            h.record_id = record_id
            return 200, {"ok": True, "id": record_id}
        if path == "/api/v1/progress":
            return self._progress(method, body)
        if path.startswith("/api/v1/logs/"):
            return self._logs(method, path[len("/api/v1/logs/"):], query, body)
        if method == "GET" and (path == "/api/v1/catalog" or path.startswith("/library/")):
            return self._file(h, "catalog.json" if path == "/api/v1/catalog" else unquote(path[len("/library/"):]))
        return 404, {"error": f"no such endpoint: {method} {path}"}

    def _long_poll(self, wait: int, box_live: bool) -> dict[str, Any]:
        deadline = time.monotonic() + wait
        with self.lock:
            live_at_start = self._live() if box_live else None  # a box not yet live hears it at once
            while True:
                now = time.monotonic()
                fresh = [q for q in self.state.queue if now - q.delivered_at >= REDELIVER_AFTER_S]
                live_news = self._live() is not None and self._live() != live_at_start
                if fresh or live_news or now >= deadline or self.release.is_set():
                    for q in fresh:
                        q.delivered_at = now
                        self.state.deliveries.append((q.command["id"], "long-poll"))
                    return {"commands": [q.command for q in fresh], "live": self._live()}
                self.lock.wait(min(0.5, deadline - now))

    def _live(self) -> dict[str, Any] | None:
        window = self._live_window
        return window if window and window["until"] > time.time() else None

    def _progress(self, method: str, body: bytes) -> tuple[int, Any]:
        with self.lock:
            if method == "GET":
                return 200, {"items": list(self.state.progress.values())}
            doc = _json(body)
            if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
                return 400, {"error": "items missing"}
            self.state.progress_posts.append(str(doc.get("id")))
            for item in doc["items"]:
                old = self.state.progress.get(item["id"])
                if old is None or item["updated_at"] > old["updated_at"]:
                    self.state.progress[item["id"]] = item
            return 200, {"ok": True}

    def _logs(self, method: str, rest: str, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        upload_id, _, tail = rest.partition("/")
        with self.lock:
            held = self.state.logs.setdefault(upload_id, bytearray())
            if method == "PUT" and not tail:
                if len(body) > MAX_LOG_CHUNK:
                    return 413, {"error": "chunk larger than 256 KiB"}
                if int(query.get("offset", "-1")) != len(held):
                    self.state.log_conflicts += 1
                    return 409, {"received": len(held)}
                held.extend(body)
                return 200, {"received": len(held)}
            if method == "POST" and tail == "done":
                self.state.logs_done.add(upload_id)
                return 200, {"ok": True, "received": len(held)}
            if method == "GET" and not tail:
                return 200, {"received": len(held)}
        return 404, {"error": "no such log endpoint"}

    def _file(self, h: _Handler, relative: str) -> tuple[int, Any]:
        if self.library is None:
            return 404, {"error": "no library"}
        path = (self.library / relative).resolve()
        if not path.is_relative_to(self.library) or not path.is_file():
            return 404, {"error": "not found"}
        data = path.read_bytes()
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        if h.headers.get("If-None-Match") == etag:
            return 304, b""
        h.extra_headers = {"ETag": etag}
        return 200, data


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        protocol: ProtocolServer = self.server.protocol
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(length) if length else b""
        bytes_in = len(self.raw_requestline) + len(str(self.headers)) + len(body)
        with protocol.lock:
            protocol.started.append((method, parts.path, time.monotonic()))
            if (method, parts.path) == ("GET", "/api/v1/commands"):
                protocol.poll_queries.append(query)
        self.record_id: str | None = None
        self.extra_headers: dict[str, str] = {}
        fault = protocol.fault(method, parts.path) if protocol.fault else None
        if fault == "hang":
            protocol.release.wait(60)
            self.close_connection = True
            return
        if fault == "drop":
            self._record(protocol, method, parts.path, 0, bytes_in, 0)
            self.close_connection = True
            return
        if isinstance(fault, int):
            status, reply = fault, {"error": f"injected HTTP {fault}"}
        elif isinstance(fault, tuple):
            status, reply = fault
        else:
            status, reply = protocol.handle(self, method, parts.path, query, body)
        if fault == "drop_after":
            self._record(protocol, method, parts.path, 0, bytes_in, 0)
            self.close_connection = True
            return
        payload = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
        self.send_response(status)
        content_type = "application/octet-stream" if isinstance(reply, bytes) else "application/json"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        self.end_headers()
        # Recorded before the reply leaves, so a test that has the reply also finds the record.
        self._record(protocol, method, parts.path, status, bytes_in, len(payload) + 120)
        with contextlib.suppress(OSError):
            self.wfile.write(payload)

    def _record(self, protocol: ProtocolServer, method: str, path: str, status: int, bytes_in: int,
                bytes_out: int) -> None:
        with protocol.lock:
            protocol.seen.append(Seen(method, path, status, bytes_in, bytes_out, time.monotonic(),
                                      self.record_id))


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None
