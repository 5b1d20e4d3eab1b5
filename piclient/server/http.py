"""Request helpers shared by the device API and the dashboard: capped bodies, JSON, errors."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

KIB = 1024
JSON_LIMIT = 256 * KIB
# Nothing the protocol sends nests deeper than a handful of levels; a renderer or a later json.dumps
# may recurse once per level, so depth is bounded at the door, far below Python's recursion limit.
DEPTH_MAX = 32
# Both databases store 64-bit integers; a bigger one would fail (or wrap) inside a write.
INT_MIN, INT_MAX = -(2 ** 63), 2 ** 63 - 1


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
    data = parse_json(body)
    if not isinstance(data, dict):
        raise ApiError(400, "malformed JSON: the body must be a JSON object")
    return data


def parse_json(body: bytes) -> Any:
    """The one strict JSON reader for everything a box or a browser sends.

    Python's json module accepts NaN and Infinity, numbers that overflow to inf, integers of any size,
    lone UTF-16 surrogates written as escapes (a str that can never be encoded again), and nesting up
    to the interpreter's recursion limit. Each of those was stored once and later broke every page
    that showed it; here they are a 400 that names the problem.
    """
    try:
        text = body.decode("utf-8")  # the protocol says UTF-8; json.loads alone would guess
    except UnicodeDecodeError:
        raise ApiError(400, "malformed JSON: the body is not UTF-8") from None
    try:
        data = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_bounded_int)
    except RecursionError:
        raise ApiError(400, f"refused JSON: nested deeper than {DEPTH_MAX} levels") from None
    except _Refused as exc:
        raise ApiError(400, f"refused JSON: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    problem = _walk(data)
    if problem:
        raise ApiError(400, f"refused JSON: {problem}")
    return data


class _Refused(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a finite number")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _Refused(f"{literal[:40]} is not a finite number")
    return value


def _bounded_int(literal: str) -> int:
    # Bounded by length first: int() of a 100,000-digit literal is slow, and refused anyway.
    value = int(literal) if len(literal) <= 20 else None
    if value is None or not INT_MIN <= value <= INT_MAX:
        raise _Refused(f"the integer {literal[:24]}{'...' if len(literal) > 24 else ''} is outside 64 bits")
    return value


def _walk(data: Any) -> str | None:
    """The first problem json.loads let through (depth, lone surrogates, NUL), without recursing ourselves."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not is_encodable(value):
                return "a string holds a lone surrogate (U+D800 to U+DFFF), which is not text"
            if "\x00" in value:  # PostgreSQL cannot store it in text, and no box has a reason to send it
                return "a string holds a NUL character (\\u0000)"
        elif isinstance(value, dict | list):
            if depth > DEPTH_MAX:
                return f"nested deeper than {DEPTH_MAX} levels"
            if isinstance(value, dict):
                stack.extend((key, depth) for key in value)
                stack.extend((item, depth + 1) for item in value.values())
            else:
                stack.extend((item, depth + 1) for item in value)
    return None


def is_encodable(text: str) -> bool:
    """False for a str holding a lone surrogate: it cannot be written to a database, a page or a log as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def finite_header(value: str | None, name: str) -> float | None:
    """A header or query value holding a number of seconds (or absent): finite, or a 400 naming it."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ApiError(400, f"{name} must be a finite number of seconds")
    return number


def bounded_id(value: int, what: str = "id") -> int:
    """A numeric id from a URL, refused with 400 when no database could hold it."""
    if not 0 <= value <= INT_MAX:
        raise ApiError(400, f"{what} is outside 64 bits")
    return value


def client_ip(request: Request) -> str:
    # With --trust-proxy, uvicorn has already replaced the peer with the X-Forwarded-For address.
    return request.client.host if request.client else "unknown"
