"""A real sd_notify(3) receiver: the datagram socket systemd would open, with the sender's credentials.

systemd checks who sent a message (NotifyAccess=main): this socket asks the kernel for the sender's
pid of every datagram (SO_PASSCRED), so a test sees not only what was sent but by which process.
"""

from __future__ import annotations

import array
import socket
import struct
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.waiting import wait_until


@dataclass(frozen=True)
class Notification:
    pid: int
    at: float  # time.monotonic() when it arrived
    fields: dict[str, str] = field(default_factory=dict)


class NotifySocket:
    def __init__(self) -> None:
        # AF_UNIX paths are limited to 108 bytes: a short folder of our own, not pytest's long tmp_path.
        self._dir = tempfile.TemporaryDirectory(prefix="sdn-")
        self.path = Path(self._dir.name) / "notify"
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self._sock.bind(str(self.path))
        self._sock.settimeout(0.2)
        self._lock = threading.Lock()
        self._messages: list[Notification] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._receive, name="notify-socket", daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        creds_size = struct.calcsize("3i")
        while not self._closed.is_set():
            try:
                data, ancdata, _flags, _addr = self._sock.recvmsg(4096, socket.CMSG_SPACE(creds_size))
            except TimeoutError:
                continue
            except OSError:
                return
            pid = 0
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = array.array("i", payload[:creds_size])[0]
            fields = dict(line.split("=", 1) for line in data.decode("utf-8").split("\n") if "=" in line)
            with self._lock:
                self._messages.append(Notification(pid, time.monotonic(), fields))

    def messages(self, key: str | None = None, pid: int | None = None) -> list[Notification]:
        with self._lock:
            found = list(self._messages)
        return [m for m in found if (key is None or key in m.fields) and (pid is None or m.pid == pid)]

    def wait_for(self, key: str, value: str | None = None, *, after: float = 0.0, timeout: float = 30.0,
                 pid: int | None = None) -> Notification:
        def match() -> Notification | None:
            for message in self.messages(key, pid):
                if message.at > after and (value is None or message.fields[key] == value):
                    return message
            return None

        return wait_until(match, timeout, f"{key}={value or '*'} on the notify socket")

    def close(self) -> None:
        self._closed.set()
        self._sock.close()
        self._thread.join(timeout=5)
        self._dir.cleanup()

    def __enter__(self) -> NotifySocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
