"""The control socket's wire format: one JSON object per line, each way.

Request:  {"cmd": "key", "name": "ok"}
Reply:    {"ok": true, ...} or {"ok": false, "error": "what went wrong"}
Screenshots come back as base64 in "data", with "format", "width" and "height".
"""

from __future__ import annotations

import json
from typing import Any

MAX_LINE = 64 * 1024
COMMANDS = ("status", "key", "message", "screenshot", "play", "reload")


class ProtocolError(Exception):
    pass


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"not a JSON line: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a request must be a JSON object")
    return message
