"""The publish job queue, in the server's database so any number of server and worker processes share it.

A worker claims the oldest queued job (or one whose lease ran out: its worker died) with a
compare-and-set UPDATE that only one claimant can win, on SQLite and PostgreSQL alike. While it works
it renews the lease with each progress report; a worker that lost its lease stops writing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from piclient.server.schema import publish_jobs

LEASE_S = 120.0  # a worker reports progress every few seconds; two minutes of silence means it died
MAX_ATTEMPTS = 3  # a job that killed its worker this often is failed, not retried forever

_J = publish_jobs.c


@dataclass(frozen=True)
class Job:
    id: int
    film: str
    options: dict[str, Any]
    upload_id: str | None
    attempts: int


def enqueue(conn: sa.Connection, film: str, options: dict[str, Any], now: float,
            upload_id: str | None = None) -> int:
    return int(conn.execute(publish_jobs.insert().values(
        film=film, options=json.dumps(options, ensure_ascii=False), upload_id=upload_id, state="queued",
        stage="queued", created_at=now, updated_at=now).returning(_J.id)).scalar_one())


def _claimable(now: float) -> Any:
    return sa.or_(_J.state == "queued", sa.and_(_J.state == "running", _J.lease_until < now))


def has_work(conn: sa.Connection, now: float) -> bool:
    """A read-only look first: an idle worker must not take SQLite's write lock every few seconds."""
    return conn.execute(sa.select(_J.id).where(_claimable(now)).limit(1)).first() is not None


def claim(conn: sa.Connection, worker: str, now: float, lease_s: float = LEASE_S) -> Job | None:
    """The next job for ``worker``, now leased to it; None when there is nothing to do."""
    for _ in range(5):  # another worker may win the row between the SELECT and the UPDATE
        candidate = conn.execute(sa.select(_J.id, _J.attempts).where(_claimable(now)).order_by(_J.id).limit(1)).first()
        if candidate is None:
            return None
        if candidate.attempts >= MAX_ATTEMPTS:
            conn.execute(publish_jobs.update().where(_J.id == candidate.id, _claimable(now)).values(
                state="failed", error="packaging stopped several times without finishing (the worker died)",
                updated_at=now))
            continue
        row = conn.execute(publish_jobs.update().where(_J.id == candidate.id, _claimable(now)).values(
            state="running", worker=worker, lease_until=now + lease_s, attempts=_J.attempts + 1,
            updated_at=now).returning(_J.id, _J.film, _J.options, _J.upload_id, _J.attempts)).first()
        if row is not None:
            return Job(row.id, row.film, json.loads(row.options), row.upload_id, row.attempts)
    return None


def report(conn: sa.Connection, job_id: int, worker: str, stage: str, progress: float, now: float,
           lease_s: float = LEASE_S) -> bool:
    """Record progress and renew the lease; False when the job is no longer this worker's."""
    done = conn.execute(publish_jobs.update().where(_J.id == job_id, _J.worker == worker, _J.state == "running")
                        .values(stage=stage, progress=progress, lease_until=now + lease_s, updated_at=now)
                        .returning(_J.id)).first()
    return done is not None


def finish(conn: sa.Connection, job_id: int, worker: str, now: float, *, result: dict[str, Any] | None = None,
           error: str | None = None, detail: str = "") -> bool:
    values: dict[str, Any] = {"updated_at": now, "lease_until": None}
    if error is None:
        values.update(state="done", stage="done", progress=1.0, result=json.dumps(result or {}, ensure_ascii=False))
    else:
        values.update(state="failed", error=error, detail=detail[-4000:] or None)
    done = conn.execute(publish_jobs.update().where(_J.id == job_id, _J.worker == worker, _J.state == "running")
                        .values(**values).returning(_J.id)).first()
    return done is not None


def release(conn: sa.Connection, job_id: int, worker: str, now: float) -> bool:
    """Give a job back to the queue (its worker is stopping); the next claim reuses its finished rungs."""
    done = conn.execute(publish_jobs.update().where(_J.id == job_id, _J.worker == worker, _J.state == "running")
                        .values(state="queued", stage="queued", worker=None, lease_until=None,
                                attempts=sa.func.max(_J.attempts - 1, 0) if conn.dialect.name == "sqlite"
                                else sa.func.greatest(_J.attempts - 1, 0), updated_at=now)
                        .returning(_J.id)).first()
    return done is not None


def get(conn: sa.Connection, job_id: int | None = None, upload_id: str | None = None) -> dict[str, Any] | None:
    where = _J.id == job_id if job_id is not None else _J.upload_id == upload_id
    row = conn.execute(sa.select(publish_jobs).where(where).order_by(_J.id.desc()).limit(1)).first()
    return None if row is None else _public(row)


def recent(conn: sa.Connection, limit: int = 200) -> list[dict[str, Any]]:
    return [_public(r) for r in conn.execute(sa.select(publish_jobs).order_by(_J.id.desc()).limit(limit))]


def _public(row: Any) -> dict[str, Any]:
    return {"id": row.id, "state": row.state, "stage": row.stage, "progress": row.progress, "error": row.error,
            "detail": row.detail, "result": json.loads(row.result) if row.result else None,
            "options": json.loads(row.options), "film": row.film.rsplit("/", 1)[-1],
            "created_at": row.created_at, "updated_at": row.updated_at}
