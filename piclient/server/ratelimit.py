"""Login attempt limits: failures per client address refuse, failures from everyone slow down.

The per-address limit refuses (429) once an address has failed ``per_ip`` times in the window. The
global limit used to refuse too, which let a stranger lock the maintainer out with 30 requests every
5 minutes; now it only *delays*: once ``overall`` failures are in the window, an attempt waits
``delay_s`` in a queue of one (``Admission.delay``) before its password is checked, which still bounds
the CPU argon2 spends on a spread-out guessing attack. A browser that logged in before (its signed
cookie, ``browsers.py``) skips that queue; the per-address limit applies to it as to anyone.

The record is a table (``login_failures``), not process memory, so replicas behind one load balancer
share one quota instead of each granting its own; times are therefore wall-clock epoch seconds. Each
attempt is counted *before* its password is checked (``admit`` records it as a failure, ``succeeded``
takes it back), and the check and the record are one serialised step: however many requests arrive at
once, on however many replicas, at most ``per_ip`` argon2 checks per address run per window. An
attempt told to wait is not recorded until it has waited, and rows older than the window are deleted
on every attempt, so a flood of addresses cannot grow the table faster than the queue lets attempts through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from piclient.server.schema import login_failures

# Serialises admit() across replicas on PostgreSQL (SQLite's writer already holds the database lock).
_PG_LOCK_KEY = 0x7069_6C66  # "pilf"
_IP_MAX = 64  # the column's width; an IPv6 address with a zone fits


@dataclass(frozen=True)
class Admission:
    retry_after: float  # 0 when the attempt may go ahead, else seconds until this address may try again
    attempt_id: int | None = None  # the row that counts the attempt as a failure until it succeeds
    delay: float = 0.0  # > 0: wait this long in the login queue, then ask again with waited=True


class LoginLimiter:
    """The policy; every method runs inside the caller's transaction (``Database.write``)."""

    def __init__(self, *, per_ip: int = 5, overall: int = 30, window_s: float = 300.0, delay_s: float = 3.0) -> None:
        self.per_ip = per_ip
        self.overall = overall
        self.window_s = window_s
        self.delay_s = delay_s

    def admit(self, conn: sa.Connection, ip: str, now: float, *, known: bool = False,
              waited: bool = False) -> Admission:
        """Check the limits and, when the attempt may go ahead, count it as a failure.

        ``known``: the browser logged in before; ``waited``: the attempt already waited its delay.
        Either way the global limit is served; the per-address one never is.
        """
        if conn.dialect.name == "postgresql":
            # Without it two replicas could both see 4 failures and both let a 5th and 6th through.
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
        conn.execute(login_failures.delete().where(login_failures.c.at <= now - self.window_s))
        recent = login_failures.c.at > now - self.window_s
        wait = self._wait(conn, sa.and_(recent, login_failures.c.ip == ip[:_IP_MAX]), self.per_ip, now)
        if wait > 0:
            return Admission(wait)
        if not (known or waited) and self._wait(conn, recent, self.overall, now) > 0:
            return Admission(0.0, delay=self.delay_s)
        attempt_id = conn.execute(login_failures.insert().values(ip=ip[:_IP_MAX], at=now)
                                  .returning(login_failures.c.id)).scalar_one()
        return Admission(0.0, attempt_id)

    def retry_after(self, conn: sa.Connection, ip: str, now: float) -> float:
        """0 when an attempt from ``ip`` may go ahead (perhaps after a delay), else seconds it is refused for."""
        recent = login_failures.c.at > now - self.window_s
        return self._wait(conn, sa.and_(recent, login_failures.c.ip == ip[:_IP_MAX]), self.per_ip, now)

    def _wait(self, conn: sa.Connection, where: Any, limit: int, now: float) -> float:
        count = conn.execute(sa.select(sa.func.count()).select_from(login_failures).where(where)).scalar_one()
        if count < limit:
            return 0.0
        # Attempts resume once enough of these failures have left the window to be under the limit again.
        freed_by = conn.execute(sa.select(login_failures.c.at).where(where).order_by(login_failures.c.at)
                                .offset(count - limit).limit(1)).scalar_one()
        return max(freed_by + self.window_s - now, 0.0)

    def succeeded(self, conn: sa.Connection, ip: str, attempt_id: int | None) -> None:
        """Take the successful attempt back and clear the address's earlier failures.

        Those failures keep counting toward the overall limit (their address is forgotten, the row stays
        until it leaves the window): a success vouches for one address, not for the rest of the world.
        """
        if attempt_id is not None:
            conn.execute(login_failures.delete().where(login_failures.c.id == attempt_id))
        conn.execute(login_failures.update().where(login_failures.c.ip == ip[:_IP_MAX]).values(ip=None))
