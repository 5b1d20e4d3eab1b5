"""Talk to the TV process's control socket (used by `piclient ctl`, the agent and the tests)."""

from __future__ import annotations

import base64
import socket
from pathlib import Path
from typing import Any

from piclient.control.protocol import MAX_LINE, ProtocolError, decode, encode


class ControlUnavailable(Exception):
    """The TV process is not there or did not answer in time."""


class ControlClient:
    def __init__(self, path: Path | str, timeout: float = 10.0) -> None:
        self.path = str(path)
        self.timeout = timeout

    def request(self, cmd: str, **args: Any) -> dict[str, Any]:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(self.path)
                sock.sendall(encode({"cmd": cmd, **args}))
                with sock.makefile("rb") as reader:
                    # Screenshots are large; allow them, but never an endless line.
                    line = reader.readline(64 * MAX_LINE * 16)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise ControlUnavailable(f"the TV app is not running ({self.path}: {exc.strerror})") from None
        except TimeoutError:
            raise ControlUnavailable(f"the TV app did not answer within {self.timeout:g} s") from None
        except OSError as exc:
            raise ControlUnavailable(f"cannot reach the TV app: {exc}") from None
        if not line:
            raise ControlUnavailable("the TV app closed the connection without answering")
        try:
            return decode(line)
        except ProtocolError as exc:
            raise ControlUnavailable(f"the TV app answered garbage: {exc}") from None

    def screenshot(self, fmt: str = "png", max_width: int | None = None, quality: int | None = None) -> bytes:
        args: dict[str, Any] = {"format": fmt}
        if max_width:
            args["max_width"] = max_width
        if quality:
            args["quality"] = quality
        reply = self.request("screenshot", **args)
        if not reply.get("ok"):
            raise ControlUnavailable(reply.get("error", "screenshot failed"))
        return base64.b64decode(reply["data"])
