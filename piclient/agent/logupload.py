"""Recent logs to the server in chunks the server acknowledges, so a slow link resumes where it broke.

Protocol: ``PUT /api/v1/logs/{upload}?offset=N`` appends a chunk only when N is what the server holds
and answers ``{"received": n}``; a mismatch is ``409`` with the same body. After a broken connection
the agent asks ``GET /api/v1/logs/{upload}`` and carries on from ``received``.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from piclient.agent.commands import CommandFailed
from piclient.agent.transport import PermanentError, Reply, TransientError, Transport

log = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024
MAX_LOG_BYTES = 8 * 1024 * 1024
MAX_FAILURES = 8
UPLOAD_DEADLINE_S = 600.0


class LogSource(Protocol):
    def read(self, since_s: float, max_bytes: int) -> bytes: ...


class JournalSource:
    """journald lines of the piclient units (the box's normal case)."""

    def __init__(self, units: Sequence[str], journalctl: str = "journalctl") -> None:
        self.units = list(units)
        self.journalctl = journalctl

    def read(self, since_s: float, max_bytes: int) -> bytes:
        if not shutil.which(self.journalctl):
            raise CommandFailed("journalctl is not available on this box; set agent.log_file")
        argv = [self.journalctl, "--no-pager", "--output=short-iso-precise", f"--since=-{int(since_s)}s",
                *(f"--unit={unit}" for unit in self.units)]
        # Output to a file, not a pipe: memory stays flat however chatty the journal was.
        with tempfile.TemporaryFile() as out:
            try:
                done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                      timeout=60, check=False)
            except subprocess.TimeoutExpired:
                raise CommandFailed("journalctl took longer than 60 s") from None
            out.seek(0)
            head = out.read(300).decode(errors="replace")
            if done.returncode != 0:
                raise CommandFailed(f"journalctl failed ({done.returncode}): {head}")
            _refuse_missing_journal(head)
            return _tail(out, max_bytes)


class SocketJournalSource:
    """The journal through piclient-journal.socket: on the box the agent runs as an unprivileged user
    that may not read the system journal, so a root helper answers with the piclient units' lines only.
    Without the socket (a desktop, a test) it reads the journal itself."""

    def __init__(self, path: Path | str, fallback: LogSource, timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self.fallback = fallback
        self.timeout_s = timeout_s

    def read(self, since_s: float, max_bytes: int) -> bytes:
        if not self.path.exists():
            return self.fallback.read(since_s, max_bytes)
        with tempfile.TemporaryFile() as out, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout_s)
            try:
                sock.connect(str(self.path))
                sock.sendall(f"{max(1, int(since_s))}\n".encode())
                sock.shutdown(socket.SHUT_WR)
                # To a file, not memory: the tail is what is kept.
                while chunk := sock.recv(65536):
                    out.write(chunk)
            except OSError as exc:
                raise CommandFailed(f"the journal socket {self.path} did not answer: {exc}") from None
            out.seek(0)
            _refuse_missing_journal(out.read(300).decode(errors="replace"))
            return _tail(out, max_bytes)


def _refuse_missing_journal(head: str) -> None:
    if head.startswith("No journal files were found"):
        # journalctl says so and exits 0: sending that one line would look like logs.
        raise CommandFailed("this box keeps no journal; set agent.log_file to its log files")


class FileSource:
    """The tails of log files, for a system without journald (the demo, and tests).

    With several files each gets an equal share of the bytes, under a ``==> path <==`` line.
    """

    def __init__(self, *paths: Path | str) -> None:
        self.paths = [Path(p) for p in paths]

    def read(self, since_s: float, max_bytes: int) -> bytes:
        # A plain file has no reliable timestamps to filter on; its tail is the recent part.
        if len(self.paths) == 1:
            return self._read_one(self.paths[0], max_bytes)
        share = max_bytes // max(1, len(self.paths))
        parts, missing = [], []
        for path in self.paths:
            header = f"==> {path} <==\n".encode()
            try:
                parts.append(header + self._read_one(path, max(0, share - len(header))) + b"\n")
            except CommandFailed as exc:
                missing.append(str(exc))
        if not parts:
            raise CommandFailed("; ".join(missing))
        return b"".join(parts)

    @staticmethod
    def _read_one(path: Path, max_bytes: int) -> bytes:
        try:
            with open(path, "rb") as handle:
                return _tail(handle, max_bytes)
        except OSError as exc:
            raise CommandFailed(f"cannot read {path}: {exc.strerror or exc}") from None


def _tail(handle: Any, max_bytes: int) -> bytes:
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - max_bytes))
    return handle.read(max_bytes)


class LogUploader:
    def __init__(self, transport: Transport, stop: threading.Event, chunk_bytes: int = CHUNK_BYTES,
                 max_failures: int = MAX_FAILURES, deadline_s: float = UPLOAD_DEADLINE_S) -> None:
        self.transport = transport
        self.stop = stop
        self.chunk_bytes = chunk_bytes
        self.max_failures = max_failures
        self.deadline_s = deadline_s

    def upload(self, data: bytes) -> dict[str, Any]:
        upload_id = uuid.uuid4().hex
        path = f"/api/v1/logs/{upload_id}"
        offset = 0
        chunks = resumed = failures = 0
        deadline = time.monotonic() + self.deadline_s
        while offset < len(data):
            if self.stop.is_set() or time.monotonic() > deadline:
                raise CommandFailed(f"log upload {upload_id} stopped at {offset} of {len(data)} bytes")
            chunk = data[offset:offset + self.chunk_bytes]
            try:
                reply = self.transport.request("PUT", path, params={"offset": offset}, data=chunk,
                                               headers={"Content-Type": "application/octet-stream"},
                                               accept=(409,))
                chunks += 1
                received = _received(reply, len(data))
                if reply.status == 409 or received != offset + len(chunk):
                    resumed += 1
                    log.info("log upload %s: server holds %d bytes, resuming there", upload_id, received)
                offset = received
            except TransientError as exc:
                failures += 1
                if failures > self.max_failures:
                    raise CommandFailed(f"log upload gave up after {failures} network failures: {exc}") from None
                offset = self._ask_received(path, len(data), offset)
                resumed += 1
            except PermanentError as exc:
                raise CommandFailed(f"log upload refused: {exc}") from None
        self._close(path, deadline)
        log.info("log upload %s: %d bytes in %d chunks (%d resumes)", upload_id, len(data), chunks, resumed)
        return {"upload_id": upload_id, "bytes": len(data), "chunks": chunks, "resumed": resumed}

    def _ask_received(self, path: str, total: int, fallback: int) -> int:
        """After a broken connection: how much did the server keep? Waits out the backoff first."""
        if not self.transport.wait_open(self.stop, self.deadline_s):
            return fallback
        try:
            return _received(self.transport.request("GET", path, accept=(404,)), total)
        except TransientError:
            return fallback  # the next PUT tells us through its 409 anyway

    def _close(self, path: str, deadline: float) -> None:
        for _ in range(self.max_failures):
            if not self.transport.wait_open(self.stop, max(0.0, deadline - time.monotonic())):
                break
            try:
                self.transport.request("POST", f"{path}/done", json_body={})
                return
            except TransientError:
                continue
        raise CommandFailed("all log bytes were sent but the server did not confirm the end of the upload")


def _received(reply: Reply, total: int) -> int:
    if reply.status == 404:
        return 0
    value = reply.json_object().get("received")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= total:
        raise CommandFailed(f"server answered the log upload with a bad 'received': {value!r}")
    return value
