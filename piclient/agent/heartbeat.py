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

from piclient import __version__
from piclient.agent.commands import VOCABULARY, CommandRunner
from piclient.agent.live import LiveMode
from piclient.agent.screenshots import Screenshots
from piclient.agent.spool import Record, Spool
from piclient.agent.system import SystemProbe
from piclient.agent.transport import Reply, Transport, TransportError
from piclient.agent.tvlink import TvLink, TvState

log = logging.getLogger(__name__)

PATH = "/api/v1/heartbeat"
MAX_ERRORS = 10
JITTER = 0.1
SERVER_PACE_FLOOR_S = 5.0
GOING_DOWN_TIMEOUT_S = 3.0


class Heartbeats:
    def __init__(self, device_name: str, interval_s: float, tv: TvLink, system: SystemProbe, spool: Spool,
                 transport: Transport, live: LiveMode, screenshots: Screenshots, commands: CommandRunner,
                 wake_uplink: Callable[[], None], offered: Sequence[str] = VOCABULARY,
                 rng: random.Random | None = None,
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
        doc = self.build(state)
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            self.spool.put(doc["id"], "heartbeat", "POST", PATH, body)
        except (sqlite3.Error, OSError) as exc:
            self._send_unspooled(doc, exc)
        else:
            if self._spool_failing:
                log.warning("the spool takes records again")
            self._spool_failing = False
            self.wake_uplink()
        return self.interval_s * self._rng.uniform(1 - JITTER, 1 + JITTER)

    def _send_unspooled(self, doc: dict[str, Any], exc: Exception) -> None:
        """The spool cannot keep this heartbeat (a full or failing card): send it straight away, saying so.

        Otherwise a full disk silences the box completely and the dashboard can only say "offline",
        when what the maintainer needs to hear is "the box's disk is full".
        """
        error = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        if not self._spool_failing:
            log.error("cannot spool a heartbeat (%s); sending heartbeats directly until the spool works again", error)
        self._spool_failing = True
        doc["spool"] = {**doc.get("spool", {}), "error": error, "disk_full": _disk_full(exc)}
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
        times = [e.get("time") for e in state.status.get("errors") or [] if isinstance(e, dict)]
        newest = max((t for t in times if isinstance(t, int | float)), default=0.0)
        # The first look is the baseline: errors from before the agent started are not news.
        if self._newest_error is not None and newest > self._newest_error:
            log.info("the TV app reported a new problem; taking a screenshot")
            self.screenshots.request_error_shot()
        self._newest_error = max(newest, self._newest_error or 0.0)

    # -- content ----------------------------------------------------------------------------------

    def build(self, state: TvState | None, *, going_down: bool = False) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "sent_at": round(self._wall(), 3),
            "going_down": going_down,
            "live": self.live.active(),
            "device": {"name": self.device_name, "version": __version__,
                       "uptime_s": self.system.uptime_s(),
                       "agent_uptime_s": round(self._clock() - self._started, 1),
                       "commands": self.offered},
        }
        if state is not None:
            doc["tv"] = tv_section(state)
            cec = cec_section(state)
            if cec is not None:
                doc["cec"] = cec
        doc["system"] = self.system.snapshot()
        stats = self.spool.stats()
        doc["spool"] = {"pending": stats["pending"], "bytes": stats["bytes"], "dropped": stats["dropped"]}
        doc["agent"] = self.transport.report()
        return doc

    # -- replies ----------------------------------------------------------------------------------

    def handle_reply(self, record: Record, reply: Reply) -> None:
        if record.kind != "heartbeat":
            return
        doc = reply.json_object()
        self.commands.submit(doc.get("commands"))
        if "live" in doc:
            self.live.update(doc["live"], reply)
        pace = doc.get("heartbeat_seconds")
        if isinstance(pace, int | float) and not isinstance(pace, bool):
            # The server may slow boxes down (fleet load) but not make them hammer it.
            floor = min(self.configured_s, SERVER_PACE_FLOOR_S)
            self.interval_s = min(3600.0, max(floor, float(pace)))
        try:
            sent = json.loads(record.body)
            self.transport.acknowledge(sent.get("agent") or {})
        except (ValueError, AttributeError):
            pass

    def going_down(self) -> bool:
        """Tell the server this is a clean shutdown. Sent directly, never spooled: replayed after a
        restart it would mark a running box as down."""
        doc = self.build(self.last_state, going_down=True)
        try:
            self.transport.request("POST", PATH, json_body=doc, timeout_s=GOING_DOWN_TIMEOUT_S)
        except TransportError as exc:
            log.info("going-down heartbeat not sent: %s", exc)
            return False
        log.info("going-down heartbeat sent")
        return True


def _disk_full(exc: Exception) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc)


def tv_section(state: TvState) -> dict[str, Any]:
    section: dict[str, Any] = {"state": state.state}
    if state.detail:
        section["detail"] = state.detail[:300]
    status = state.status
    if not status:
        return section
    focus = status.get("focus") if isinstance(status.get("focus"), dict) else {}
    section["screen"] = status.get("screen")
    uptime = status.get("uptime")
    if isinstance(uptime, int | float) and not isinstance(uptime, bool):
        section["uptime_s"] = round(float(uptime), 1)  # since the TV app started; device.uptime_s is the box
    section["focused"] = focus.get("focused") or focus.get("focused_episode") or focus.get("title")
    section["now_playing"] = now_playing(status)
    overlay = status.get("overlay")
    if isinstance(overlay, dict):
        section["overlay"] = {k: overlay.get(k) for k in ("message", "notice", "dimmed")}
    section["errors"] = [
        {"time": e.get("time"), "level": e.get("level"), "message": str(e.get("message", ""))[:500]}
        for e in (status.get("errors") or [])[-MAX_ERRORS:] if isinstance(e, dict)
    ]
    catalog = status.get("catalog")
    if isinstance(catalog, dict):
        section["catalog"] = {k: catalog.get(k) for k in ("titles", "skipped", "fetched_at", "error", "error_kind")}
    return section


def now_playing(status: dict[str, Any]) -> dict[str, Any] | None:
    """What the player reports, when the launcher's status has it (older launchers do not)."""
    playing = status.get("now_playing") or status.get("player")
    if not isinstance(playing, dict) or not playing.get("id"):
        return None
    return {k: playing.get(k) for k in ("id", "title", "position", "duration", "paused")}


def cec_section(state: TvState) -> dict[str, Any] | None:
    if not state.running:
        return None
    cec = state.status.get("cec")
    if cec is None:
        return {"adapter": "disabled"}
    if not isinstance(cec, dict):
        return None
    return {k: cec.get(k) for k in ("adapter", "tv_power", "active_source", "detail", "last_error")}
