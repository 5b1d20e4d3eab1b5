"""Database access: a reader pool for the request threads and one group-commit writer.

SQLite (the embedded default) runs in WAL mode so readers never wait for the writer, with
``synchronous=FULL`` so a heartbeat the server acknowledged survives a power cut. Python's sqlite3
module opens transactions lazily and cannot do SAVEPOINTs reliably; SQLAlchemy's documented recipe
(autocommit at the driver, our own BEGIN) fixes both, and the writer uses BEGIN IMMEDIATE so another
process (the CLI) writing at the same moment waits on busy_timeout instead of failing.

SQLite's automatic WAL checkpoint runs inside whichever commit crosses the threshold and stalls that
commit (and every request in its batch) for tens of milliseconds. The writer therefore never
checkpoints; a small thread does it every second on its own connection (PASSIVE: it never blocks
the writer), and keeps the WAL file from growing without bound.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy import event

from piclient.server.writer import GroupCommitWriter

T = TypeVar("T")

log = logging.getLogger(__name__)

SQLITE_FILE = "piclient.db"
CHECKPOINT_EVERY_S = 1.0


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{Path(data_dir).resolve() / SQLITE_FILE}"


def make_engine(url: str, *, immediate: bool = False, pool_size: int = 8, checkpoints: bool = True) -> sa.Engine:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size,
                              connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_size_limit=67108864")
        if not checkpoints:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """Both engines and the writer; ``read`` and ``write`` are the only ways the app touches the database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = sa.make_url(url).get_backend_name()
        self.reader = make_engine(url)
        self.writer_engine = (make_engine(url, immediate=True, pool_size=2, checkpoints=False) if self.is_sqlite
                              else self.reader)
        self._writer = GroupCommitWriter(self.writer_engine)
        self._checkpointer = Checkpointer(self.reader) if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def writer(self) -> GroupCommitWriter:
        return self._writer

    def start(self) -> None:
        """Start the writer thread and, with SQLite, the checkpoint thread."""
        self._writer.start()
        if self._checkpointer is not None:
            self._checkpointer.start()

    def close(self) -> None:
        self._writer.close()
        if self._checkpointer is not None:
            self._checkpointer.close()
        self.reader.dispose()
        if self.writer_engine is not self.reader:
            self.writer_engine.dispose()

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(self.read_sync, fn, *args)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._writer.submit(fn, *args)

    def read_sync(self, fn: Callable[..., T], *args: Any) -> T:
        with self.reader.connect() as conn:
            return fn(conn, *args)

    def write_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """For the CLI and tests: one transaction outside the writer thread."""
        with self.writer_engine.begin() as conn:
            return fn(conn, *args, **kwargs)


class Checkpointer:
    def __init__(self, engine: sa.Engine, every: float = CHECKPOINT_EVERY_S) -> None:
        self._engine = engine
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="db-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        if not self._thread.is_alive():
            return  # never started (the CLI): the last connection to close checkpoints by itself
        self._stop.set()
        self._thread.join(timeout)
        self._checkpoint()  # leave a short WAL behind

    def _checkpoint(self) -> None:
        raw = self._engine.raw_connection()
        try:
            raw.dbapi_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            raw.close()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self._checkpoint()
            except Exception:  # a checkpoint can wait for the next round; never let it end the thread
                log.exception("WAL checkpoint failed")


def upsert(conn: sa.Connection, table: sa.Table, values: dict[str, Any], keys: list[str],
           update: list[str] | None = None, where: Any = None) -> int:
    """INSERT, or on a key conflict update ``update`` columns (or do nothing); returns rows changed.

    Both dialects speak ON CONFLICT, but SQLAlchemy keeps the constructs per dialect. The count comes
    from RETURNING because psycopg reports no rowcount for this statement.
    """
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).values(**values)
    if update:
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in update},
                                          where=where(stmt.excluded) if where is not None else None)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    return len(conn.execute(stmt.returning(table.c[keys[0]])).all())
