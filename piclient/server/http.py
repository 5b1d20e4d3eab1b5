"""Request helpers shared by the device API and the dashboard: capped bodies, JSON, errors."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

KIB = 1024
JSON_LIMIT = 256 * KIB


class ApiError(Exception):
    """Answered as ``{"error": message}`` (plus ``extra``) with ``status``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse({"error": self.message, **self.extra}, status_code=self.status, headers=headers)


def check_declared_length(declared: str | bytes | None, limit: int) -> None:
    """Refuse a body by its Content-Length before reading any of it."""
    if declared is None:
        return
    try:
        length = int(declared)
    except ValueError:
        raise ApiError(400, "Content-Length is not a number") from None
    if length > limit:
        raise ApiError(413, f"the body is larger than {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing with 413 as soon as it is known to pass ``limit`` bytes."""
    check_declared_length(request.headers.get("content-length"), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_object(request: Request, limit: int = JSON_LIMIT) -> dict[str, Any]:
    body = await read_body(request, limit)
    return parse_json_object(body)


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"))  # the protocol says UTF-8; json.loads alone would guess
    except UnicodeDecodeError:
        raise ApiError(400, "malformed JSON: the body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "malformed JSON: the body must be a JSON object")
    return data


def client_ip(request: Request) -> str:
    # With --trust-proxy, uvicorn has already replaced the peer with the X-Forwarded-For address.
    return request.client.host if request.client else "unknown"
