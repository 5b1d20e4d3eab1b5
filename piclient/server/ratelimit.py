"""Login attempt limits: failures per client address and for everyone, over a sliding window.

The global limit stops a spread-out guessing attack; it also bounds the CPU that argon2 spends on
wrong passwords. A successful login clears its address's failures.

The record is a table (``login_failures``), not process memory, so replicas behind one load balancer
share one quota instead of each granting its own; times are therefore wall-clock epoch seconds. Each
attempt is counted *before* its password is checked (``admit`` records it as a failure, ``succeeded``
takes it back), and the check and the record are one serialised step: however many requests arrive at
once, on however many replicas, at most ``per_ip`` argon2 checks per address and ``overall`` in all run
per window. Rows older than the window are deleted on every attempt, so the table holds at most
``overall`` live rows.
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
    retry_after: float  # 0 when the attempt may go ahead, else seconds to wait
    attempt_id: int | None = None  # the row that counts the attempt as a failure until it succeeds


class LoginLimiter:
    """The policy; every method runs inside the caller's transaction (``Database.write``)."""

    def __init__(self, *, per_ip: int = 5, overall: int = 30, window_s: float = 300.0) -> None:
        self.per_ip = per_ip
        self.overall = overall
        self.window_s = window_s

    def admit(self, conn: sa.Connection, ip: str, now: float) -> Admission:
        """Check both limits and, when the attempt may go ahead, count it as a failure."""
        if conn.dialect.name == "postgresql":
            # Without it two replicas could both see 29 failures and both let a 30th and 31st through.
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
        conn.execute(login_failures.delete().where(login_failures.c.at <= now - self.window_s))
        wait = self.retry_after(conn, ip, now)
        if wait > 0:
            return Admission(wait)
        attempt_id = conn.execute(login_failures.insert().values(ip=ip[:_IP_MAX], at=now)
                                  .returning(login_failures.c.id)).scalar_one()
        return Admission(0.0, attempt_id)

    def retry_after(self, conn: sa.Connection, ip: str, now: float) -> float:
        """0 when an attempt from ``ip`` may go ahead, else seconds to wait."""
        recent = login_failures.c.at > now - self.window_s
        return max(self._wait(conn, recent, self.overall, now),
                   self._wait(conn, sa.and_(recent, login_failures.c.ip == ip[:_IP_MAX]), self.per_ip, now))

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
