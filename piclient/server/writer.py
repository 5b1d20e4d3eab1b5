"""Group commit: one thread owns every write and commits whatever queued up meanwhile in one transaction.

SQLite allows one writer at a time and each commit costs an fsync. Committing per request caps the
server at a few hundred heartbeats a second; committing the requests that arrived during the previous
commit together keeps each request's promise (its reply is sent only after its own write is durable)
at a fraction of the fsyncs. Each request runs in its own SAVEPOINT, so one failing request does not
undo the others in its batch.

The busiest kind of write (heartbeats) is also *grouped*: ``submit_grouped(fn, item)`` hands all such
items of a batch to one ``fn(conn, items)`` call, which does a few set-wise statements instead of a
few per item. Should that call fail, each item is retried alone so only the bad one fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

log = logging.getLogger(__name__)

T = TypeVar("T")
_STOP = object()


class WriterClosed(RuntimeError):
    """The server is shutting down; the write was not attempted."""


class GroupCommitWriter:
    def __init__(self, engine: sa.Engine, *, max_batch: int = 500) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="db-writer", daemon=True)
        self._closed = False
        self.batches = 0
        self.writes = 0

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        if self._thread.is_alive():
            self._thread.join(timeout)

    async def submit(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` in the next batch; return its result once the batch is committed."""
        return await self._enqueue(fn, args, grouped=False)

    async def submit_grouped(self, fn: Callable[[sa.Connection, list[Any]], list[T]], item: Any) -> T:
        """Add ``item`` to the next batch's call of ``fn(conn, items)``; return its entry of the result list."""
        return await self._enqueue(fn, item, grouped=True)

    async def _enqueue(self, fn: Callable[..., Any], payload: Any, *, grouped: bool) -> Any:
        if self._closed:
            raise WriterClosed("the database writer is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put((fn, payload, grouped, loop, future))
        return await future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            batch = [first]
            # Bounded drain: take what is already waiting, never wait for more.
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[Any]) -> None:
        outcomes: list[tuple[bool, Any] | None] = [None] * len(batch)
        groups: dict[Callable[..., Any], list[int]] = {}
        try:
            with self._engine.begin() as conn:
                for index, (fn, payload, grouped, _loop, _future) in enumerate(batch):
                    if grouped:
                        groups.setdefault(fn, []).append(index)
                    else:
                        outcomes[index] = _attempt(conn, fn, *payload)
                for fn, indexes in groups.items():
                    together = _attempt(conn, fn, [batch[i][1] for i in indexes])
                    if together[0]:
                        for i, value in zip(indexes, together[1], strict=True):
                            outcomes[i] = (True, value)
                        continue
                    for i in indexes:  # find the bad one: each item alone
                        alone = _attempt(conn, fn, [batch[i][1]])
                        outcomes[i] = (True, alone[1][0]) if alone[0] else alone
        except Exception as exc:
            # The commit itself failed (disk full, database gone): nothing in the batch is durable.
            log.exception("database commit failed for %d writes", len(batch))
            outcomes = [(False, exc)] * len(batch)
        self.batches += 1
        self.writes += len(batch)
        for outcome, (_fn, _payload, _grouped, loop, future) in zip(outcomes, batch, strict=True):
            ok, value = outcome if outcome is not None else (False, RuntimeError("write not attempted"))
            with contextlib.suppress(RuntimeError):  # the event loop is already closed (shutdown)
                loop.call_soon_threadsafe(_settle, future, ok, value)


def _attempt(conn: sa.Connection, fn: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
    try:
        with conn.begin_nested():
            return True, fn(conn, *args)
    except Exception as exc:  # this request fails alone; its savepoint is rolled back
        return False, exc


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
