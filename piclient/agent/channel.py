"""The command channel: one long-poll for commands held open at all times, so the box hears at once.

Heartbeats come every ``heartbeat_seconds`` (30 s by default); a key press, a restart or the
maintainer opening the box's page must not wait for the next one. So the box always holds one
``GET /api/v1/commands?wait=N`` and the server answers it the moment a command is queued or live
mode starts, and otherwise after ``N`` seconds with nothing, when the box asks again at once.

Kept cheap and safe whatever the server or the network does:

- ``N`` is about a minute less a random part (``HOLD_MAX_S`` times 0.75 to 1), so boxes do not
  poll in step and an ordinary proxy that cuts idle connections at 60 s never sees an idle one.
- A held poll that fails after a while (a proxy with a shorter idle limit, a NAT forgetting the
  connection) makes the next holds shorter; after a long run of good ones they grow again.
- A server that answers at once with nothing (garbage, a proxy's page, a misconfigured server)
  is asked again after a growing delay, up to ``QUIET_BACKOFF_MAX_S``; never in a hot loop.
- Errors wait for the transport's gate (its backoff with jitter); the wait is re-checked at
  least every ``ERROR_RECHECK_S``. A refused token or a 4xx to the poll waits longer (30 s and
  growing); any request getting through again wakes the channel at once (``on_recovered``).
- Stopping the agent ends the held request at once (the transport's ``interrupt``).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from piclient.agent.live import LiveMode
from piclient.agent.transport import Backoff, Interrupted, PermanentError, RejectedError, Transport, TransportError

log = logging.getLogger(__name__)

PATH = "/api/v1/commands"
HOLD_MAX_S = 55.0  # the server holds a poll at most 60 s (device_api.LONG_POLL_MAX_S)
HOLD_MIN_S = 10.0  # never shorter, whatever cut the connections before
HOLD_SPREAD = 0.25  # each hold is HOLD_MAX_S (or the lowered cap) times 0.75 to 1
QUIET_S = 5.0  # an answer with nothing in it sooner than this is "at once": such a server is not asked at once again
QUIET_BACKOFF_MAX_S = 60.0
REJECTED_BACKOFF_MAX_S = 600.0  # a 4xx to the poll (a server too old for it): try now and then
ERROR_RECHECK_S = 10.0
GROW_AFTER = 30  # full holds in a row before a lowered cap is raised again
AFTER_COMMANDS_S = 0.1  # more keys may follow at once; a server sending commands forever must not spin the box


class CommandChannel:
    def __init__(self, transport: Transport, live: LiveMode, on_commands: Callable[[Any], None],
                 stop: threading.Event | None = None, clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None) -> None:
        self.transport = transport
        self.live = live
        self.on_commands = on_commands
        self._stop = stop
        self._clock = clock
        self._rng = rng or random.Random()
        self._quiet = Backoff(1.0, QUIET_BACKOFF_MAX_S, self._rng)
        self._rejected = Backoff(30.0, REJECTED_BACKOFF_MAX_S, self._rng)
        self.hold_cap_s = HOLD_MAX_S
        self._full_holds = 0
        self.polls = 0  # answered polls, for tests and the status line

    def hold_s(self) -> int:
        """How long to ask the server to hold the next poll: whole seconds, jittered below the cap."""
        return max(int(HOLD_MIN_S), int(self.hold_cap_s * self._rng.uniform(1 - HOLD_SPREAD, 1.0)))

    def step(self) -> float:
        """One long-poll; returns seconds until the next."""
        wait = self.hold_s()
        started = self._clock()
        was_live = self.live.active()
        try:
            reply = self.transport.request("GET", PATH, params={"wait": wait, "live": int(was_live)},
                                           timeout_s=wait + 10, interrupt=self._stop)
        except Interrupted:
            return 0.0  # the agent is stopping; the loop sees its flag
        except RejectedError as exc:
            delay = self._rejected.next_delay()
            log.warning("the server refuses the command poll (%s); trying again in %.0f s", exc, delay)
            return delay
        except PermanentError:
            # The token is refused: the heartbeats report it and retry it. Polling adds nothing until
            # one gets through (the transport's on_recovered then wakes this loop).
            return self._rejected.next_delay()
        except TransportError as exc:
            self._failed_after(self._clock() - started, wait)
            return min(ERROR_RECHECK_S, max(0.05, exc.retry_at - self._clock()))
        held = self._clock() - started
        self.polls += 1
        self._rejected.reset()
        doc = reply.json_object()
        commands = doc.get("commands")
        self.on_commands(commands)
        if "live" in doc:
            self.live.update(doc["live"], reply)
        if isinstance(commands, list) and commands:
            self._quiet.reset()
            return AFTER_COMMANDS_S
        if self.live.active() != was_live:
            self._quiet.reset()
            return 0.0
        if held < QUIET_S:
            # Nothing, and at once: a garbled reply, a replaced poll, a server going down. Not again at once.
            return self._quiet.next_delay() + max(0.0, self.live.poll_interval() - held)
        self._quiet.reset()
        if held >= wait - 1:
            self._held_to_the_end()
        return max(0.0, self.live.poll_interval() - held)

    def _failed_after(self, held: float, wait: int) -> None:
        if held < HOLD_MIN_S or held >= wait:
            return
        # Something between here and the server drops a connection idle this long: stay under it.
        lowered = max(HOLD_MIN_S, 0.8 * held)
        if lowered < self.hold_cap_s:
            log.info("a held command poll was cut after %.0f s; holding at most %.0f s from now on", held, lowered)
            self.hold_cap_s = lowered
        self._full_holds = 0

    def _held_to_the_end(self) -> None:
        self._full_holds += 1
        if self._full_holds >= GROW_AFTER and self.hold_cap_s < HOLD_MAX_S:
            self.hold_cap_s = min(HOLD_MAX_S, self.hold_cap_s * 1.25)
            self._full_holds = 0
