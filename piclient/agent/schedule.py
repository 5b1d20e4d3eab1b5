"""When to sync: watch progress up every ``progress_seconds``; progress down and the catalog every
``catalog.refresh_minutes``, sooner after a failure, and not at all while the server is unreachable
(then the cache only notes why, for the launcher's footer)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from piclient.agent.catalog import CatalogSyncer
from piclient.agent.progress import ProgressSync
from piclient.agent.transport import Transport, TransportError
from piclient.catalog.cache import ErrorKind

log = logging.getLogger(__name__)

RETRY_S = 60.0


class SyncSchedule:
    def __init__(self, catalog: CatalogSyncer | None, progress: ProgressSync, transport: Transport,
                 catalog_every_s: float, progress_every_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.catalog = catalog
        self.progress = progress
        self.transport = transport
        self.catalog_every_s = catalog_every_s
        self.progress_every_s = progress_every_s
        self._clock = clock
        now = clock()
        # Progress down before the first catalog: a reflashed box then shows its history at once.
        self._next_push = now
        self._next_pull = now
        self._next_catalog = now

    def step(self) -> float:
        now = self._clock()
        if now >= self._next_push:
            self._next_push = now + self.progress_every_s
            self.progress.push()  # local only: it fills the spool, the uplink sends it
        if not self.transport.retry_at():
            if now >= self._next_pull:
                try:
                    self.progress.pull()
                    self._next_pull = now + self.catalog_every_s
                except TransportError as exc:
                    log.info("watch progress not fetched from the server: %s", exc)
                    self._next_pull = now + min(RETRY_S, self.catalog_every_s)
            # A refusal or outage seen by the pull just now closes the gate: no catalog request into it.
            if self.catalog is not None and now >= self._next_catalog and not self.transport.retry_at():
                result = self.catalog.run()
                self._next_catalog = now + (min(RETRY_S, self.catalog_every_s) if result.error
                                            else self.catalog_every_s)
        if self.catalog is not None and now >= self._next_catalog and (gate := self.transport.closed_gate()):
            # No request goes out, but the launcher must still hear that the films are not fresh.
            refused, status, reason = gate
            kind = ErrorKind.SETUP if refused else ErrorKind.SERVER if status is not None else ErrorKind.NETWORK
            self.catalog.record_outage(kind, reason)
            self._next_catalog = now + min(RETRY_S, self.catalog_every_s)
        due = [self._next_push, self._next_pull]
        if self.catalog is not None:
            due.append(self._next_catalog)
        gate = self.transport.retry_at()
        if gate:
            due = [self._next_push, max(gate, min(due))]
        return max(0.5, min(due) - self._clock())
