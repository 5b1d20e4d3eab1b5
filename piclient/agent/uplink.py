"""Drains the spool to the server: each record is deleted only after the server accepted it.

A record the server rejects (4xx other than a refusal) can never go through, so it is dropped with
a warning instead of blocking everything behind it. Network faults and refusals stop the round; the
transport's gate says when the next round makes sense.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from piclient.agent.spool import Record, Spool
from piclient.agent.transport import RejectedError, Reply, Transport, TransportError

log = logging.getLogger(__name__)

IDLE_WAIT_S = 60.0


class Uplink:
    def __init__(self, spool: Spool, transport: Transport, stop: threading.Event,
                 on_reply: Callable[[Record, Reply], None] | None = None) -> None:
        self.spool = spool
        self.transport = transport
        self.stop = stop
        self.on_reply = on_reply
        self.sent = 0
        self.rejected = 0

    def step(self) -> float:
        """Send until the spool is empty or the server cannot take more; returns seconds to wait."""
        while not self.stop.is_set():
            retry_at = self.transport.retry_at()
            if retry_at:  # known down or refused: not even worth reading the next record
                return max(0.05, retry_at - time.monotonic())
            record = self.spool.next_record()
            if record is None:
                return IDLE_WAIT_S
            try:
                reply = self.send(record)
            except RejectedError as exc:
                # Permanent for this record (a 400 says the same next time): drop it, loudly and once,
                # and carry on with the rest. Retrying it would block nothing but fill the log forever.
                self.rejected += 1
                log.error("the server refused %s record %s for good (%s); dropped it, the other records go on",
                          record.kind, record.id, exc)
                self.spool.delete(record.id)
                continue
            except TransportError as exc:
                return max(0.05, exc.retry_at - time.monotonic())
            self.spool.delete(record.id)
            self.sent += 1
            if self.on_reply is not None:
                try:
                    self.on_reply(record, reply)
                except Exception:
                    log.exception("handling the reply to %s %s failed", record.kind, record.id)
        return 0.0

    def send(self, record: Record) -> Reply:
        headers = {"Content-Type": record.content_type, **record.headers}
        # Interruptible, so a stop never waits for a hung server: the record stays in the spool and
        # goes again next time (the server stores a record id once).
        return self.transport.request(record.method, record.path, data=record.body, headers=headers,
                                      interrupt=self.stop)
