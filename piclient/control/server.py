"""The TV process's control socket: a Unix socket serving newline-delimited JSON.

Connection threads never touch the screen: they hand each request to ``handler`` (which queues it
for the launcher's main loop and waits) and encode the reply. If the main loop is stuck, the
request times out with "tv not responding", which is exactly what the agent needs to know.
"""

from __future__ import annotations

import base64
import contextlib
import io
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from piclient.control.protocol import MAX_LINE, ProtocolError, decode, encode

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class ControlServer:
    def __init__(self, path: Path, handler: Handler, max_clients: int = 8) -> None:
        self.path = path
        self._handler = handler
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._slots = threading.BoundedSemaphore(max_clients)

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a socket left by a crashed run
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(self.path))
        os.chmod(self.path, 0o660)  # the agent shares the group; nobody else may press keys
        sock.listen(8)
        sock.settimeout(0.5)
        self._sock = sock
        self._thread = threading.Thread(target=self._accept_loop, name="control", daemon=True)
        self._thread.start()
        log.info("control socket at %s", self.path)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._sock is not None:
            self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                if not self._stopping.is_set():
                    log.exception("control socket accept failed")
                return
            if not self._slots.acquire(blocking=False):
                with contextlib.suppress(OSError):
                    conn.sendall(encode({"ok": False, "error": "too many connections"}))
                conn.close()
                continue
            threading.Thread(target=self._serve, args=(conn,), name="control-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(30)
            with conn, conn.makefile("rb") as reader:
                while not self._stopping.is_set():
                    line = reader.readline(MAX_LINE + 1)
                    if not line:
                        return
                    if len(line) > MAX_LINE:
                        conn.sendall(encode({"ok": False, "error": "request too long"}))
                        return
                    conn.sendall(encode(self._answer(line)))
        except (OSError, TimeoutError):
            pass  # the client went away; nothing to clean up
        finally:
            self._slots.release()

    def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = decode(line)
        except ProtocolError as exc:
            return {"ok": False, "error": str(exc)}
        try:
            reply = self._handler(request)
        except Exception as exc:
            log.exception("control request %r failed", request.get("cmd"))
            return {"ok": False, "error": f"internal error: {exc}"}
        image = reply.pop("_image", None)
        if callable(image):  # the main loop handed over a frame to be converted here, off its thread
            image = image()
            if image is None:
                return {"ok": False, "error": "the player could not take a screenshot"}
        if image is not None:
            reply.update(encode_image(image, request))
        return reply


def encode_image(image: tuple[bytes, tuple[int, int]], request: dict[str, Any]) -> dict[str, Any]:
    """PNG or JPEG of the raw RGB frame, optionally scaled down to ``max_width``. Runs off the main loop."""
    pixels, size = image
    fmt = str(request.get("format", "png")).lower()
    fmt = "jpeg" if fmt in ("jpg", "jpeg") else "png"
    img = Image.frombytes("RGB", size, pixels)
    max_width = request.get("max_width")
    if isinstance(max_width, int) and 0 < max_width < img.width:
        img = img.resize((max_width, round(img.height * max_width / img.width)), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    if fmt == "jpeg":
        quality = request.get("quality", 80)
        img.save(buffer, "JPEG", quality=quality if isinstance(quality, int) and 1 <= quality <= 95 else 80)
    else:
        img.save(buffer, "PNG", compress_level=1)
    return {"format": fmt, "width": img.width, "height": img.height,
            "data": base64.b64encode(buffer.getvalue()).decode("ascii")}
