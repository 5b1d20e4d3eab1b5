"""Heartbeats: what the box and its TV app are doing, every ``heartbeat_seconds`` (with jitter).

Each heartbeat is spooled before it is sent, so an outage leaves a history instead of a gap. The
reply carries commands, live mode and the pace the server wants; old heartbeats replayed after an
outage get current replies, which is fine: commands run at most once whichever reply brings them.
"""

from __future__ import annotations

import errno
import json
import logging
import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from piclient import __version__
from piclient.agent.commands import VOCABULARY, CommandRunner
from piclient.agent.live import LiveMode
from piclient.agent.screenshots import Screenshots
from piclient.agent.spool import Record, Spool
from piclient.agent.system import SystemProbe
from piclient.agent.transport import Reply, Transport, TransportError
from piclient.agent.tvlink import TvLink, TvState
from piclient.agent.updates import AgentUpdates
from piclient.protocol import (
    AgentReport,
    CecSection,
    DeviceInfo,
    Heartbeat,
    SpoolSection,
    SystemSection,
    TvSection,
    parse_or_none,
    problems,
)

log = logging.getLogger(__name__)

PATH = "/api/v1/heartbeat"
MAX_ERRORS = 10
JITTER = 0.1
SERVER_PACE_FLOOR_S = 5.0
GOING_DOWN_TIMEOUT_S = 3.0
LIVE_EVERY_S = 1.0
LIVE_TIMEOUT_S = 3.0


class Heartbeats:
    def __init__(self, device_name: str, interval_s: float, tv: TvLink, system: SystemProbe, spool: Spool,
                 transport: Transport, live: LiveMode, screenshots: Screenshots, commands: CommandRunner,
                 wake_uplink: Callable[[], None], offered: Sequence[str] = VOCABULARY,
                 rng: random.Random | None = None, updates: AgentUpdates | None = None,
                 wall: Callable[[], float] = time.time, clock: Callable[[], float] = time.monotonic) -> None:
        self.device_name = device_name
        self.configured_s = interval_s
        self.interval_s = interval_s
        self.tv = tv
        self.system = system
        self.spool = spool
        self.transport = transport
        self.live = live
        self.screenshots = screenshots
        self.commands = commands
        self.wake_uplink = wake_uplink
        self.offered = list(offered)
        self.updates = updates
        self._rng = rng or random.Random()
        self._wall = wall
        self._clock = clock
        self._started = clock()
        self._newest_error: float | None = None
        self._spool_failing = False
        self.last_state: TvState | None = None

    # -- the loop ---------------------------------------------------------------------------------

    def step(self) -> float:
        state = self.tv.probe()
        self.last_state = state
        self.screenshots.observe(state)
        self._watch_errors(state)
        beat = self.build(state)
        if beat.live and self._send_live(beat):
            return LIVE_EVERY_S
        doc = beat.wire()
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            self.spool.put(beat.id, "heartbeat", "POST", PATH, body)
        except (sqlite3.Error, OSError) as exc:
            self._send_unspooled(doc, exc)
        else:
            if self._spool_failing:
                log.warning("the spool takes records again")
            self._spool_failing = False
            self.wake_uplink()
        if beat.live:
            return LIVE_EVERY_S
        return self.interval_s * self._rng.uniform(1 - JITTER, 1 + JITTER)

    def _send_live(self, beat: Heartbeat) -> bool:
        """While the maintainer watches, a heartbeat a second goes straight out, so the page follows
        the film within two seconds. Not spooled: a second-by-second history would wear the SD card
        for nothing, and a lost one is replaced a second later. Refused or unsent, it is spooled."""
        try:
            reply = self.transport.request("POST", PATH, json_body=beat.wire(), timeout_s=LIVE_TIMEOUT_S)
        except TransportError as exc:
            log.debug("live heartbeat not sent directly: %s", exc)
            return False
        self._apply_reply(reply, beat.agent.wire() if beat.agent else {})
        return True

    def _send_unspooled(self, doc: dict[str, Any], exc: Exception) -> None:
        """The spool cannot keep this heartbeat (a full or failing card): send it straight away, saying so.

        Otherwise a full disk silences the box completely and the dashboard can only say "offline",
        when what the maintainer needs to hear is "the box's disk is full".
        """
        error = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        if not self._spool_failing:
            log.error("cannot spool a heartbeat (%s); sending heartbeats directly until the spool works again", error)
        self._spool_failing = True
        doc["spool"] = {**(doc.get("spool") or {}), "error": error, "disk_full": _disk_full(exc)}
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            reply = self.transport.request("POST", PATH, data=body, headers={"Content-Type": "application/json"})
        except TransportError as sent:
            log.debug("unspooled heartbeat not sent: %s", sent)
            return
        self.handle_reply(Record(0, doc["id"], "heartbeat", "POST", PATH, "application/json", {}, body,
                                 self._wall()), reply)

    def _watch_errors(self, state: TvState) -> None:
        """A screenshot when the launcher reports an error it had not reported before."""
        if not state.running:
            return
        newest = max((e.time for e in state.status.errors if e.time is not None), default=0.0)
        # The first look is the baseline: errors from before the agent started are not news.
        if self._newest_error is not None and newest > self._newest_error:
            log.info("the TV app reported a new problem; taking a screenshot")
            self.screenshots.request_error_shot()
        self._newest_error = max(newest, self._newest_error or 0.0)

    # -- content ----------------------------------------------------------------------------------

    def build(self, state: TvState | None, *, going_down: bool = False) -> Heartbeat:
        stats = self.spool.stats()
        return Heartbeat(
            id=uuid.uuid4().hex,
            sent_at=round(self._wall(), 3),
            going_down=going_down,
            live=self.live.active(),
            device=DeviceInfo(name=self.device_name, version=__version__, uptime_s=self.system.uptime_s(),
                              agent_uptime_s=round(self._clock() - self._started, 1), commands=self.offered),
            tv=tv_section(state) if state is not None else None,
            cec=cec_section(state) if state is not None else None,
            system=system_section(self.system.snapshot()),
            spool=SpoolSection(pending=stats["pending"], bytes=stats["bytes"], dropped=stats["dropped"]),
            agent=AgentReport.read(self.transport.report()),
            update=self.updates.section() if self.updates is not None else None,
        )

    # -- replies ----------------------------------------------------------------------------------

    def handle_reply(self, record: Record, reply: Reply) -> None:
        if record.kind != "heartbeat":
            return
        try:
            sent = json.loads(record.body)
        except ValueError:
            sent = {}
        self._apply_reply(reply, (sent.get("agent") if isinstance(sent, dict) else None) or {})

    def _apply_reply(self, reply: Reply, sent_agent: dict[str, Any]) -> None:
        # Read field by field rather than as one HeartbeatReply: a garbled field must not cost the
        # box its commands, and the box must never need a fix for what a server sends.
        doc = reply.json_object()
        self.commands.submit(doc.get("commands"))
        if self.updates is not None:
            self.updates.accepted(bool(self.last_state and self.last_state.running))
            self.updates.offered(doc.get("update"))
        if "live" in doc:
            self.live.update(doc["live"], reply)
        pace = doc.get("heartbeat_seconds")
        if isinstance(pace, int | float) and not isinstance(pace, bool):
            # The server may slow boxes down (fleet load) but not make them hammer it.
            floor = min(self.configured_s, SERVER_PACE_FLOOR_S)
            self.interval_s = min(3600.0, max(floor, float(pace)))
        if isinstance(sent_agent, dict):
            self.transport.acknowledge(sent_agent)

    def going_down(self) -> bool:
        """Tell the server this is a clean shutdown. Sent directly, never spooled: replayed after a
        restart it would mark a running box as down."""
        beat = self.build(self.last_state, going_down=True)
        try:
            self.transport.request("POST", PATH, json_body=beat.wire(), timeout_s=GOING_DOWN_TIMEOUT_S)
        except TransportError as exc:
            log.info("going-down heartbeat not sent: %s", exc)
            return False
        log.info("going-down heartbeat sent")
        return True


def _disk_full(exc: Exception) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc)


def tv_section(state: TvState) -> TvSection:
    section = TvSection(state=state.state, detail=state.detail[:300] or None)
    if not state.running:
        return section
    status = state.status
    focus = status.focus
    section.screen = status.screen
    # Since the TV app started; device.uptime_s is the box's.
    section.uptime_s = round(status.uptime, 1) if status.uptime is not None else None
    focused = focus.get("focused") or focus.get("focused_episode") or focus.get("title")
    section.focused = focused if isinstance(focused, str) else None
    section.now_playing = status.now_playing  # as the player reported it: the dashboard shows this
    section.overlay = status.overlay
    section.display = status.display  # whether the screenshots are the TV's picture or an off-screen one
    section.errors = [e.model_copy(update={"message": e.message[:500]}) for e in status.errors[-MAX_ERRORS:]]
    section.catalog = status.catalog.model_copy(update={"skipped_reasons": []}) if status.catalog else None
    return section


def system_section(snapshot: dict[str, Any]) -> SystemSection:
    """The machine's figures; one a probe got wrong is left out (and logged), never the heartbeat."""
    try:
        return SystemSection.read(snapshot)
    except ValidationError as exc:
        log.warning("left out of the heartbeat: %s", problems(exc))
        wrong = {error["loc"][0] for error in exc.errors() if error["loc"]}
        return SystemSection.read({k: v for k, v in snapshot.items() if k not in wrong})


def cec_section(state: TvState) -> CecSection | None:
    if not state.running:
        return None
    cec = state.status.cec
    if cec is None:
        return CecSection(adapter="disabled")
    return parse_or_none(CecSection, cec, "the launcher's cec")
