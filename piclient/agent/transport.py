"""The agent's one HTTP seam: every call to the server goes through ``Transport``.

Failures are told apart here, once:

- permanent (401/403, or a redirect: the URL or token in the config is wrong): logged loudly once,
  kept for status and heartbeats, and retried only every ``auth_retry_s``; hammering fixes no token.
- transient (5xx, 408, 429, timeouts, connection errors): retried with exponential backoff and full
  jitter, capped, so a thousand boxes coming back after an outage do not call in lockstep.
- rejected (any other 4xx): this request will never succeed as sent; the caller drops it.

While a failure's gate is closed, calls fail at once without touching the network, so no loop can
spin on a dead server whatever its own timing.

A request given an ``interrupt`` event (the command poll, which the server holds open for up to a
minute) ends with ``Interrupted`` once the event is set, at once when ``interrupt_waits`` follows (as
the agent's stop does), so stopping the agent does not wait for it.
"""

from __future__ import annotations

import email.utils
import functools
import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from piclient import __version__
from piclient.netio import TooLarge, TooSlow, read_capped

log = logging.getLogger(__name__)

MAX_REPLY_BYTES = 4 * 1024 * 1024
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# How often a waiting interruptible request looks at its interrupt event: the delay a stop may see
# unless ``Transport.interrupt_waits`` is called (the agent calls it as it stops: then at once).
# Quick requests are looked at often; a request held longer (the command poll, held most of every
# minute, at all times) only every few seconds, since every wake-up costs CPU (about 0.1 ms here).
INTERRUPT_CHECK_S = 0.1
INTERRUPT_CHECK_HELD_S = 5.0
HELD_AFTER_S = 2.0
_INTERRUPT = object()  # put in a waiting request's queue by interrupt_waits


class TransportError(Exception):
    """A request did not get a usable answer. ``retry_at`` is when trying again makes sense (monotonic)."""

    def __init__(self, message: str, retry_at: float = 0.0, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at
        self.status = status


class TransientError(TransportError):
    """The server or the network is having a bad moment; try again after ``retry_at``."""


class PermanentError(TransportError):
    """The server refuses this box (token, URL); retrying soon will not help."""


class Interrupted(TransportError):
    """The caller's interrupt event ended the wait; the server may or may not have answered."""


class RejectedError(TransportError):
    """The server understood the request and refused it (4xx); sending it again will not help."""

    def __init__(self, message: str, status: int, body: bytes = b"") -> None:
        super().__init__(message, 0.0, status)
        self.body = body


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: Mapping[str, str]

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object; anything else (a proxy's HTML page, garbage) is an empty dict."""
        try:
            value = json.loads(self.body)
        except (ValueError, RecursionError):
            return {}
        return value if isinstance(value, dict) else {}

    def server_time(self) -> float | None:
        """The server's clock from the Date header: a Pi without a clock battery may be far off."""
        date = self.headers.get("Date")
        if not date:
            return None
        try:
            return email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None


class Backoff:
    """Exponential backoff with full jitter: the n-th delay is uniform in [0, min(cap, base * 2**n)]."""

    def __init__(self, base_s: float = 1.0, cap_s: float = 300.0, rng: random.Random | None = None) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap_s, self.base_s * 2 ** min(self.failures, 32))
        self.failures += 1
        return self._rng.uniform(0, ceiling)

    def reset(self) -> None:
        self.failures = 0


@dataclass
class Refusal:
    """The server refused the box; kept until a heartbeat carrying it has been accepted."""

    status: int
    message: str
    since: float  # wall clock
    resolved_at: float | None = None

    def report(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message, "since": round(self.since, 1),
                "resolved_at": round(self.resolved_at, 1) if self.resolved_at else None}


class ServerAuth(AuthBase):
    """Adds the device token only to requests for the server's own origin.

    Catalog posters may live on other hosts; the token must never travel there.
    """

    def __init__(self, base_url: str, token: str) -> None:
        self._origin = _origin(base_url)
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if request.url and _origin(request.url) == self._origin and self._token:
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def new_session(base_url: str, token: str) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = f"piclient-agent/{__version__}"
    session.auth = ServerAuth(base_url, token)
    return session


class Transport:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = 15.0,
        backoff_max_s: float = 300.0,
        auth_retry_s: float = 600.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.auth_retry_s = auth_retry_s
        self.session = session or new_session(self.base_url, token)
        self._clock = clock
        self._wall = wall
        self._backoff = Backoff(1.0, backoff_max_s, rng)
        self._lock = threading.Lock()
        self._gate_until = 0.0
        self._gate_error: type[TransportError] = TransientError
        self._gate_reason = ""
        self._gate_status: int | None = None  # the HTTP status that closed the gate; None: no answer at all
        self._refusal: Refusal | None = None
        self._down_since: float | None = None  # wall clock of the first transient failure in a row
        self.on_recovered: list[Callable[[], None]] = []  # called when a request succeeds after failures
        self._waiting: set[queue.SimpleQueue[Any]] = set()  # interruptible requests waiting for an answer

    def close(self) -> None:
        self.session.close()

    # -- the one call ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        timeout_s: float | None = None,
        accept: tuple[int, ...] = (),
        interrupt: threading.Event | None = None,
    ) -> Reply:
        """Send one request; a 2xx (or a status in ``accept``) comes back, everything else raises.

        With ``interrupt``, setting that event ends the wait with ``Interrupted`` within about
        ``INTERRUPT_CHECK_S`` (``INTERRUPT_CHECK_HELD_S`` once the request has waited
        ``HELD_AFTER_S``), or at once when ``interrupt_waits`` is called after setting it. The
        interrupt itself is neither a failure nor a success for the gates.
        """
        self._check_gate()
        timeout = timeout_s or self.timeout_s
        call = functools.partial(self._send, method, path, data, json_body, headers, params, timeout, accept)
        if interrupt is None:
            return call()
        return self._interruptible(interrupt, call, f"{method} {path}", timeout)

    def _interruptible(self, interrupt: threading.Event, call: Callable[[], Reply], what: str,
                       timeout: float) -> Reply:
        # requests offers no way to cut a blocking socket read from another thread (closing the
        # session leaves connections in use alone), so the request runs on a thread of its own and
        # this one waits for its outcome or the interrupt. An interrupted request is left to end by
        # its own timeouts (its outcome still feeds the gates then, as any answer would); its reply,
        # if one still comes, is dropped, and the server offers any commands in it again once their
        # delivery lease runs out. The agent is stopping when this happens, so nothing waits for it.
        if interrupt.is_set():
            raise Interrupted(f"{what}: interrupted before it was sent")
        outcome: queue.SimpleQueue[Reply | Exception | object] = queue.SimpleQueue()

        def send() -> None:
            try:
                outcome.put(call())
            except Exception as exc:  # handed to the waiting thread, which raises it
                outcome.put(exc)

        threading.Thread(target=send, name=f"http {what}", daemon=True).start()
        # _send ends by its own timeouts (connect, headers, the body's deadline); this bound only
        # keeps the wait finite should something below them (a DNS lookup) not.
        limit_s = 10.0 + 5 * timeout
        started = time.monotonic()
        deadline = started + limit_s
        with self._lock:
            self._waiting.add(outcome)
        try:
            for _ in range(int(limit_s / INTERRUPT_CHECK_S) + 1):  # each pass waits (or ends the loop)
                now = time.monotonic()
                if now >= deadline:
                    break
                check = INTERRUPT_CHECK_HELD_S if now - started >= HELD_AFTER_S else INTERRUPT_CHECK_S
                try:
                    result = outcome.get(timeout=min(check, deadline - now))
                except queue.Empty:
                    result = _INTERRUPT
                if result is _INTERRUPT:
                    if interrupt.is_set():
                        raise Interrupted(f"{what}: interrupted while waiting for the answer")
                    continue
                if isinstance(result, Exception):
                    raise result
                assert isinstance(result, Reply)
                return result
        finally:
            with self._lock:
                self._waiting.discard(outcome)
        raise self._transient(f"{what}: no answer within {limit_s:g} s")

    def interrupt_waits(self) -> None:
        """Every waiting interruptible request looks at its interrupt event now (the agent is stopping)."""
        with self._lock:
            waiting = list(self._waiting)
        for outcome in waiting:
            outcome.put(_INTERRUPT)

    def _send(self, method: str, path: str, data: bytes | None, json_body: Any, headers: Mapping[str, str] | None,
              params: Mapping[str, Any] | None, timeout: float, accept: tuple[int, ...]) -> Reply:
        send_headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            send_headers.setdefault("Content-Type", "application/json")
        deadline = time.monotonic() + 4 * timeout  # a server dripping bytes still ends
        try:
            with self.session.request(method, self.base_url + path, data=data, headers=send_headers,
                                      params=params, timeout=(min(timeout, 10.0), timeout),
                                      allow_redirects=False, stream=True) as response:
                status = response.status_code
                body = read_capped(response, MAX_REPLY_BYTES, deadline - time.monotonic())
                reply = Reply(status, body, dict(response.headers))
        except requests.Timeout:
            raise self._transient(f"{method} {path}: no answer within {timeout:g} s") from None
        except requests.ConnectionError as exc:
            raise self._transient(f"{method} {path}: cannot reach the server ({_short(exc)})") from None
        except TooLarge:
            raise self._transient(f"{method} {path}: reply larger than {MAX_REPLY_BYTES} bytes") from None
        except TooSlow:
            raise self._transient(f"{method} {path}: reply took too long") from None
        except requests.RequestException as exc:
            raise self._transient(f"{method} {path}: {type(exc).__name__}: {_short(exc)}") from None
        return self._classify(method, path, reply, accept)

    def _classify(self, method: str, path: str, reply: Reply, accept: tuple[int, ...]) -> Reply:
        status = reply.status
        if 200 <= status < 300 or status in accept:
            self._succeeded()
            return reply
        detail = _error_text(reply)
        if status in (401, 403):
            raise self._permanent(status, f"the server refused the device token (HTTP {status}{detail})")
        if 300 <= status < 400:
            where = reply.headers.get("Location", "?")
            raise self._permanent(status, f"the server redirects {path} to {where}; set server.url to the new address")
        if status in TRANSIENT_STATUSES or status >= 500:
            raise self._transient(f"{method} {path}: HTTP {status}{detail}", _retry_after(reply), status)
        # The server is there and answering: this one request is the problem, not the connection.
        self._succeeded()
        raise RejectedError(f"{method} {path}: HTTP {status}{detail}", status, reply.body)

    # -- gates ----------------------------------------------------------------------------------

    def _check_gate(self) -> None:
        with self._lock:
            if self._clock() < self._gate_until:
                raise self._gate_error(f"waiting before retrying: {self._gate_reason}", self._gate_until)

    def _transient(self, message: str, retry_after: float | None = None, status: int | None = None) -> TransientError:
        with self._lock:
            delay = self._backoff.next_delay()
            if retry_after is not None:
                delay = max(delay, min(retry_after, self._backoff.cap_s))
            # A refusal already waits longer; a network fault must not shorten that wait.
            if self._gate_error is not PermanentError or self._clock() >= self._gate_until:
                self._gate_until = self._clock() + delay
                self._gate_error = TransientError
                self._gate_reason = message
                self._gate_status = status
            first = self._down_since is None
            if first:
                self._down_since = self._wall()
            failures = self._backoff.failures
        if first:
            log.warning("server unreachable: %s; retrying with backoff", message)
        else:
            log.debug("server still unreachable (%d failures): %s; next try in %.1f s", failures, message, delay)
        return TransientError(message, self._clock() + delay, status)

    def _permanent(self, status: int, message: str) -> PermanentError:
        with self._lock:
            self._gate_until = self._clock() + self.auth_retry_s
            self._gate_error = PermanentError
            self._gate_reason = message
            self._gate_status = status
            new = self._refusal is None or self._refusal.resolved_at is not None or self._refusal.status != status
            if new:
                self._refusal = Refusal(status, message, self._wall())
        if new:
            # Loud and once: this needs a person (a new token in the config, or the device re-added).
            log.error("SERVER REFUSES THIS BOX: %s. Nothing reaches the maintainer until this is fixed; check "
                      "server.url and server.token in the config. Trying again every %g s.", message, self.auth_retry_s)
        else:
            log.debug("still refused: %s", message)
        return PermanentError(message, self._gate_until, status)

    def _succeeded(self) -> None:
        with self._lock:
            recovered_from = self._down_since
            failures = self._backoff.failures
            self._backoff.reset()
            self._down_since = None
            self._gate_until = 0.0
            refusal = self._refusal
            resolved_now = refusal is not None and refusal.resolved_at is None
            if resolved_now:
                assert refusal is not None
                refusal.resolved_at = self._wall()
        if recovered_from is not None:
            log.info("server reachable again after %d failed attempts (%.0f s)", failures,
                     self._wall() - recovered_from)
        if resolved_now:
            log.warning("the server accepts the device token again")
        if recovered_from is not None or resolved_now:
            for wake in self.on_recovered:
                wake()

    # -- state for heartbeats and status --------------------------------------------------------

    def retry_at(self) -> float:
        """Monotonic time from which a request may go out; 0 when the gate is open."""
        with self._lock:
            return self._gate_until if self._clock() < self._gate_until else 0.0

    def closed_gate(self) -> tuple[bool, int | None, str] | None:
        """Why requests are held back now: (refused, HTTP status or None when nothing answered, reason);
        None when the gate is open."""
        with self._lock:
            if self._clock() >= self._gate_until:
                return None
            return self._gate_error is PermanentError, self._gate_status, self._gate_reason

    def wait_open(self, stop: threading.Event, limit_s: float) -> bool:
        """Wait until requests may go out (True), or ``stop`` is set or ``limit_s`` passed (False)."""
        end = self._clock() + limit_s
        while not stop.is_set():
            ready_at = self.retry_at()
            if not ready_at:
                return True
            if ready_at > end:
                return False
            stop.wait(max(0.01, ready_at - self._clock()))
        return False

    def report(self) -> dict[str, Any]:
        """The ``agent`` part of a heartbeat: refusals and outages the dashboard should hear about."""
        with self._lock:
            return {
                "refused": self._refusal.report() if self._refusal else None,
                "unreachable_since": round(self._down_since, 1) if self._down_since else None,
                "failures": self._backoff.failures,
            }

    def acknowledge(self, report: dict[str, Any]) -> None:
        """A heartbeat carrying ``report`` was accepted: a resolved refusal has now been told."""
        refused = report.get("refused")
        with self._lock:
            if (refused and self._refusal is not None and self._refusal.resolved_at is not None
                    and refused.get("resolved_at") is not None):
                self._refusal = None

    def status_line(self) -> str:
        with self._lock:
            if self._refusal is not None and self._refusal.resolved_at is None:
                return f"server refuses this box: HTTP {self._refusal.status}"
            if self._down_since is not None:
                return f"server unreachable ({self._backoff.failures} failures)"
        return "server ok"


def _retry_after(reply: Reply) -> float | None:
    value = reply.headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() else None


def _error_text(reply: Reply) -> str:
    message = reply.json_object().get("error")
    return f": {_short(message)}" if isinstance(message, str) and message else ""


def _short(value: object) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= 200 else text[:197] + "..."
