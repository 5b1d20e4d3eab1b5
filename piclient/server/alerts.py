"""Offline and TV-failure alerts: one alert per episode, one recovery notice when it ends.

The monitor finds candidates with a read and then *claims* each transition with a conditional
UPDATE, so with several replicas exactly one of them sends it. Delivery goes through one seam
(``AlertSender``: webhook, ntfy, e-mail) that retries transient failures a few times and gives up
loudly on permanent ones.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa

from piclient.server import mail
from piclient.server.db import Database
from piclient.server.heartbeats import latest
from piclient.server.metrics import Metrics
from piclient.server.schema import alerts, devices
from piclient.server.settings import EmailSettings

log = logging.getLogger(__name__)

TV_FAILURES_TO_ALERT = 3
ATTEMPTS = 3
TIMEOUT_S = 10.0
# Many boxes can go offline at once (the maintainer's own uplink failed); a few relay connections at a
# time are plenty, and smtplib's blocking calls then never take the shared worker threads.
SMTP_THREADS = 2

_HEADLINES = {"offline": "{device} is offline", "online": "{device} is back online",
              "tv_failing": "{device}: the TV app keeps failing",
              "tv_recovered": "{device}: the TV app is running again"}


@dataclass(frozen=True)
class Alert:
    kind: str  # offline | online | tv_failing | tv_recovered
    device_id: int
    device: str
    time: float
    message: str
    since: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {"event": self.kind, "device": self.device, "device_id": self.device_id, "time": self.time,
                "since": self.since, "message": self.message}


class AlertSender:
    """The only place alerts leave the server."""

    def __init__(self, webhook: str | None, ntfy: str | None, email: EmailSettings | None = None, *,
                 backoff_s: float = 2.0) -> None:
        self.webhook = webhook
        self.ntfy = ntfy
        self.email = email
        self.backoff_s = backoff_s
        self._client: httpx.AsyncClient | None = None
        self._smtp_pool: concurrent.futures.ThreadPoolExecutor | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.webhook or self.ntfy or self.email)

    async def send(self, alert: Alert) -> None:
        jobs = []
        if self.webhook:
            webhook = self.webhook
            jobs.append(self._deliver(webhook, lambda: self._post(webhook, {"json": alert.as_json()})))
        if self.ntfy:
            ntfy = self.ntfy
            good = alert.kind in ("online", "tv_recovered")
            headers = {"Title": f"piclient: {alert.device}", "Tags": "white_check_mark" if good else "warning",
                       "Priority": "default" if good else "high"}
            request = {"content": alert.message.encode(), "headers": headers}
            jobs.append(self._deliver(ntfy, lambda: self._post(ntfy, request)))
        if self.email:
            email = self.email
            jobs.append(self._deliver(f"{', '.join(email.to)} via {email.host}:{email.port}",
                                      lambda: self._mail(email, alert)))
        await asyncio.gather(*jobs)

    async def _deliver(self, target: str, attempt: Callable[[], Awaitable[tuple[str, bool] | None]]) -> None:
        """Run ``attempt`` until it succeeds (None), fails permanently, or ATTEMPTS times with backoff."""
        problem = "not attempted"
        for number in range(1, ATTEMPTS + 1):
            failure = await attempt()
            if failure is None:
                return
            problem, permanent = failure
            if permanent:
                log.error("alert to %s refused permanently (%s); not retrying", target, problem)
                return
            if number < ATTEMPTS:
                await asyncio.sleep(self.backoff_s * 2 ** (number - 1))
        log.error("alert to %s failed %d times, last: %s", target, ATTEMPTS, problem)

    async def _post(self, url: str, request: dict[str, Any]) -> tuple[str, bool] | None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False)
        try:
            response = await self._client.post(url, **request)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}", False
        if response.status_code < 400:
            return None
        return f"HTTP {response.status_code}", response.status_code < 500 and response.status_code != 429

    async def _mail(self, settings: EmailSettings, alert: Alert) -> tuple[str, bool] | None:
        try:
            message = mail.compose(settings, email_subject(alert), email_body(alert), alert.time)
        except ValueError as exc:  # an address the email package cannot write; no retry will change that
            return f"cannot write the message: {exc}", True
        if self._smtp_pool is None:
            self._smtp_pool = concurrent.futures.ThreadPoolExecutor(SMTP_THREADS, thread_name_prefix="smtp")
        try:
            refused = await asyncio.get_running_loop().run_in_executor(self._smtp_pool, mail.send, settings,
                                                                       message)
        except mail.MailFailure as exc:
            return exc.problem, exc.permanent
        if refused:
            # The others have it; sending again would give them a second copy.
            log.error("alert e-mail refused for some recipients, not retrying: %s", mail.refusals(refused))
        return None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._smtp_pool is not None:
            # A send still running ends by its own timeouts; do not hold shutdown for it.
            self._smtp_pool.shutdown(wait=False, cancel_futures=True)
            self._smtp_pool = None


def email_subject(alert: Alert) -> str:
    """One line: which box, what happened."""
    return "piclient: " + _HEADLINES.get(alert.kind, "{device}: " + alert.kind).format(device=alert.device)


def email_body(alert: Alert) -> str:
    lines = [alert.message, "", f"Device: {alert.device} (id {alert.device_id})", f"Event: {alert.kind}",
             f"Time: {_when(alert.time)}"]
    if alert.since is not None:
        lines.append(f"Last heartbeat: {_when(alert.since)}")
    lines += ["", "Sent by piclient server. The device's page on the dashboard lists its recent alerts."]
    return "\n".join(lines) + "\n"


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def candidates(conn: sa.Connection, now: float, offline_after: float) -> list[sa.Row]:
    cutoff = now - offline_after
    d = devices.c
    changed = sa.or_(
        sa.and_(d.offline_alerted.is_(False), d.last_seen < cutoff),
        sa.and_(d.offline_alerted.is_(True), d.last_seen >= cutoff),
        sa.and_(d.tv_alerted.is_(False), d.tv_bad_streak >= TV_FAILURES_TO_ALERT),
        sa.and_(d.tv_alerted.is_(True), d.tv_bad_streak == 0),
    )
    return list(conn.execute(sa.select(d.id, d.name, d.last_seen, d.offline_alerted, d.tv_alerted,
                                       d.tv_bad_streak, d.last_heartbeat)
                             .where(d.revoked_at.is_(None), d.last_seen.is_not(None), changed)))


def claim(conn: sa.Connection, row: sa.Row, now: float, offline_after: float,
          heartbeat_seconds: float) -> list[Alert]:
    """Flip each flag that needs flipping, if no other replica did; the alerts this call now owns."""
    d = devices.c
    cutoff = now - offline_after
    owned: list[Alert] = []

    def flip(column: sa.Column, value: bool, condition: Any) -> bool:
        stmt = devices.update().where(d.id == row.id, column.is_(not value), condition).values({column: value})
        return conn.execute(stmt).rowcount == 1

    if not row.offline_alerted and row.last_seen < cutoff and flip(d.offline_alerted, True, d.last_seen < cutoff):
        said = latest(row.last_heartbeat)
        note = " It said it was shutting down." if said.get("going_down") is True else ""
        owned.append(Alert("offline", row.id, row.name, now,
                           f"'{row.name}' is offline: no heartbeat since {_when(row.last_seen)} "
                           f"(expected every {heartbeat_seconds:g} s).{note}", since=row.last_seen))
    elif row.offline_alerted and row.last_seen >= cutoff and flip(d.offline_alerted, False, d.last_seen >= cutoff):
        owned.append(Alert("online", row.id, row.name, now, f"'{row.name}' is back online.", since=row.last_seen))
    if (not row.tv_alerted and row.tv_bad_streak >= TV_FAILURES_TO_ALERT
            and flip(d.tv_alerted, True, d.tv_bad_streak >= TV_FAILURES_TO_ALERT)):
        state = (latest(row.last_heartbeat).get("tv") or {}).get("state", "failing")
        owned.append(Alert("tv_failing", row.id, row.name, now,
                           f"'{row.name}': the TV app is {state} ({row.tv_bad_streak} heartbeats in a row)."))
    elif row.tv_alerted and row.tv_bad_streak == 0 and flip(d.tv_alerted, False, d.tv_bad_streak == 0):
        owned.append(Alert("tv_recovered", row.id, row.name, now, f"'{row.name}': the TV app is running again."))
    for alert in owned:
        conn.execute(alerts.insert().values(device_id=alert.device_id, kind=alert.kind, created_at=now,
                                            message=alert.message))
    return owned


def recent(conn: sa.Connection, device_id: int, limit: int = 10) -> list[sa.Row]:
    return list(conn.execute(sa.select(alerts).where(alerts.c.device_id == device_id)
                             .order_by(alerts.c.created_at.desc()).limit(limit)))


class AlertMonitor:
    def __init__(self, db: Database, sender: AlertSender, metrics: Metrics, *, offline_after: float,
                 heartbeat_seconds: float, every: float) -> None:
        self.db = db
        self.sender = sender
        self.metrics = metrics
        self.offline_after = offline_after
        self.heartbeat_seconds = heartbeat_seconds
        self.every = every
        self._deliveries: set[asyncio.Task[None]] = set()

    async def check_once(self, now: float | None = None) -> list[Alert]:
        now = time.time() if now is None else now
        raised: list[Alert] = []
        for row in await self.db.read(candidates, now, self.offline_after):
            raised += await self.db.write(claim, row, now, self.offline_after, self.heartbeat_seconds)
        for alert in raised:
            log.warning("alert: %s", alert.message)
            self.metrics.alerts.labels(alert.kind).inc()
            if self.sender.enabled:
                # Delivery (with its retries) must not hold up the next check.
                task = asyncio.create_task(self.sender.send(alert))
                self._deliveries.add(task)
                task.add_done_callback(self._deliveries.discard)
        self.metrics.alert_checks.inc()
        return raised

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.check_once()
            except Exception:
                log.exception("alert check failed; trying again in %.0f s", self.every)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every)

    async def close(self, timeout: float = 5.0) -> None:
        if self._deliveries:
            await asyncio.wait(self._deliveries, timeout=timeout)
        for task in self._deliveries:
            task.cancel()
        await self.sender.close()
