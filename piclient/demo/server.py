"""A small static HTTP server for the demo library and for tests: caching headers, ranges, fault hooks."""

from __future__ import annotations

import contextlib
import email.utils
import logging
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t", ".vtt": "text/vtt; charset=utf-8",
    ".json": "application/json", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
    ".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8",
}
CHUNK = 16 * 1024


class StaticServer:
    """Serve ``root`` over HTTP on a daemon thread until ``close()``; use it as a context manager.

    ``fault(path)`` may return a status to send instead of the file; ``throttle_bytes_per_s`` slows
    every response body; ``hold(path)`` may return a number of body bytes after which the response goes
    silent, the connection held open until the server closes (below zero: not even the headers), as a
    server that hangs. All three can be changed while the server runs.
    """

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0, *,
                 fault: Callable[[str], int | None] | None = None,
                 throttle_bytes_per_s: float | None = None,
                 hold: Callable[[str], int | None] | None = None) -> None:
        self.root = Path(root).resolve(strict=True)
        self.fault = fault
        self.throttle_bytes_per_s = throttle_bytes_per_s
        self.hold = hold
        self.closing = threading.Event()  # held responses wait on it
        self._httpd = _Server((host, port), _Handler)
        self._httpd.static = self
        self._closed = False
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        # A short poll interval makes close() prompt; the default 0.5 s adds up across many tests.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="static-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def close(self, timeout: float = 5.0) -> None:
        if self._closed:
            return
        self._closed = True
        self.closing.set()
        self._httpd.shutdown()
        # Open keep-alive connections would outlive the listener; cut them so "server gone" is real.
        with self._lock:
            for conn in list(self._connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._thread.join(timeout)

    def __enter__(self) -> StaticServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def resolve(self, url_path: str) -> Path | None:
        """The file a request path names, or None if it is missing, a directory or outside the root."""
        path = unquote(urlsplit(url_path).path)
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") or "\\" in p or "\0" in p for p in parts):
            return None
        target = self.root.joinpath(*parts).resolve()  # follows symlinks, so links out are caught below
        if not target.is_relative_to(self.root) or not target.is_file():
            return None
        return target


class _Server(ThreadingHTTPServer):
    static: StaticServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("request from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    protocol_version = "HTTP/1.1"  # keep-alive: mpv fetches many segments over one connection
    server_version = "piclient-demo"

    def setup(self) -> None:
        super().setup()
        self.static = self.server.static
        self.static._track(self.connection, add=True)

    def finish(self) -> None:
        self.static._track(self.connection, add=False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_HEAD(self) -> None:
        self.do_GET(body=False)

    def do_GET(self, body: bool = True) -> None:
        fault = self.static.fault(self.path) if self.static.fault else None
        if fault is not None:
            self.send_error(fault)
            return
        held = self.static.hold(self.path) if self.static.hold else None
        if held is not None and held < 0:
            self._go_silent()
            return
        target = self.static.resolve(self.path)
        if target is None:
            self.send_error(404)
            return
        stat = target.stat()
        etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        headers = {"ETag": etag, "Last-Modified": email.utils.formatdate(stat.st_mtime, usegmt=True),
                   "Accept-Ranges": "bytes",
                   "Content-Type": CONTENT_TYPES.get(target.suffix.lower(), "application/octet-stream")}
        if self._not_modified(etag, stat.st_mtime):
            self._start(304, headers)
            return
        start, end, status = 0, stat.st_size - 1, 200
        span = _parse_range(self.headers.get("Range", ""), stat.st_size)
        if span and self.headers.get("If-Range", etag) == etag:
            (start, end), status = span, 206
            if start > end:
                self._start(416, {"Content-Range": f"bytes */{stat.st_size}", "Content-Length": "0"})
                return
            headers["Content-Range"] = f"bytes {start}-{end}/{stat.st_size}"
        headers["Content-Length"] = str(end - start + 1)
        self._start(status, headers)
        if body:
            self._send_body(target, start, end - start + 1, silent_after=held)

    def _go_silent(self) -> None:
        """A server that hangs: say nothing more, keep the connection, until the server closes."""
        with contextlib.suppress(OSError):
            self.wfile.flush()
        self.static.closing.wait()
        self.close_connection = True

    def _not_modified(self, etag: str, mtime: float) -> bool:
        tags = self.headers.get("If-None-Match")
        if tags is not None:
            return tags.strip() == "*" or etag in (t.strip().removeprefix("W/") for t in tags.split(","))
        since = self.headers.get("If-Modified-Since")
        try:
            when = email.utils.parsedate_to_datetime(since) if since else None
        except (TypeError, ValueError):
            return False
        return when is not None and int(mtime) <= when.timestamp()

    def _start(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_body(self, target: Path, offset: int, length: int, silent_after: int | None = None) -> None:
        sent = 0
        try:
            with target.open("rb") as f:
                f.seek(offset)
                while length > 0:
                    if silent_after is not None and sent >= silent_after:
                        self._go_silent()
                        return
                    rate = self.static.throttle_bytes_per_s  # read per chunk: tests change it mid-stream
                    # When throttled, small chunks (about 20 a second) keep the pace smooth.
                    chunk = f.read(min(length, max(512, int(rate / 20)) if rate else CHUNK, CHUNK))
                    if silent_after is not None:
                        chunk = chunk[:silent_after - sent]  # the rest after the silence, never
                    if not chunk:
                        break
                    if rate:
                        time.sleep(len(chunk) / rate)
                    self.wfile.write(chunk)
                    length -= len(chunk)
                    sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # players drop connections when they seek; that is normal


def _parse_range(value: str, size: int) -> tuple[int, int] | None:
    """The one ``bytes=a-b`` span asked for, clamped to the file (start > end if unsatisfiable).

    None means "send the whole file": no header, a malformed one, or several ranges (RFC 9110 allows)."""
    unit, _, spec = value.partition("=")
    first, _, last = spec.strip().partition("-")
    if unit.strip() != "bytes" or "," in spec:
        return None
    try:
        if not first:
            return max(0, size - int(last)), size - 1
        start, end = int(first), int(last) if last else size - 1
    except ValueError:
        return None
    if end < start and last:
        return None  # "5-3" is malformed, so it is ignored
    return start, min(end, size - 1)  # a start past the end gives start > end, answered with 416
