"""What deserves the maintainer's attention in a box's latest heartbeat, as (level, i18n key, params).

The key and params make one plain sentence; the box's own technical words (an exception, an HTTP
reply, mpv's log line) go in ``detail``, which the dashboard keeps one tap away.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from piclient.server.boxtext import clean
from piclient.server.heartbeats import number, text

HOT_C = 75.0
DISK_LOW = 0.05
MEMORY_LOW = 0.10
WIFI_WEAK_DBM = -75.0
CLOCK_SKEW_S = 300.0
# Problems the TV app logged are "recent" for this long; an old one is history, not a warning.
RECENT_ERRORS_S = 15 * 60.0
CATALOG_KINDS = ("network", "server", "setup", "broken", "missing", "other")
CLOCK_AHEAD_S = 86400.0


@dataclass(frozen=True)
class Warning:
    level: str  # "bad" or "note"
    key: str
    params: dict[str, Any] = field(default_factory=dict)
    detail: str | None = None  # the raw text behind the sentence, for the maintainer who wants it


def warnings_for(hb: dict[str, Any], received_at: float | None, *, rejected_at: float | None,
                 now: float) -> list[Warning]:
    out: list[Warning] = []
    system = hb.get("system") if isinstance(hb.get("system"), dict) else {}
    throttled = system.get("throttled") if isinstance(system.get("throttled"), dict) else {}
    if throttled.get("under_voltage_now") is True:
        out.append(Warning("bad", "w_under_voltage_now"))
    elif throttled.get("under_voltage_occurred") is True:
        out.append(Warning("note", "w_under_voltage"))
    if throttled.get("throttled_now") is True:
        out.append(Warning("bad", "w_throttled"))
    temp = number(system, "cpu_temp_c")
    if temp is not None and temp >= HOT_C:
        out.append(Warning("bad", "w_hot", {"temp": round(temp)}))
    state = text(hb, "tv", "state")
    if state in ("unresponsive", "crashed", "stopped"):
        out.append(Warning("bad", f"w_tv_{state}", detail=text(hb, "tv", "detail", limit=300)))
    refused = (hb.get("agent") or {}).get("refused") if isinstance(hb.get("agent"), dict) else None
    if refused:
        out.append(_refused(refused))
    catalog_error = text(hb, "tv", "catalog", "error", limit=300)
    if catalog_error:
        # The box keeps showing its last good films; a network hiccup mends itself, the rest needs him.
        kind = text(hb, "tv", "catalog", "error_kind", limit=20) or "other"
        kind = kind if kind in CATALOG_KINDS else "other"
        out.append(Warning("note" if kind == "network" else "bad", f"w_catalog_{kind}", detail=catalog_error))
    recent = _recent_errors(hb)
    if recent:
        out.append(Warning("note", "w_errors", {"n": len(recent), "minutes": round(RECENT_ERRORS_S / 60)},
                           detail="\n".join(recent)))
    disk_total, disk_free = number(system, "disk_total"), number(system, "disk_free")
    if disk_total and disk_free is not None and disk_free / disk_total < DISK_LOW:
        out.append(Warning("bad", "w_disk", {"pct": round(100 * disk_free / disk_total, 1)}))
    mem_total, mem_free = number(system, "mem_total"), number(system, "mem_available")
    if mem_total and mem_free is not None and mem_free / mem_total < MEMORY_LOW:
        out.append(Warning("bad", "w_memory", {"pct": round(100 * mem_free / mem_total)}))
    dbm = number(system, "wifi", "signal_dbm")
    if dbm is not None and dbm < WIFI_WEAK_DBM:
        out.append(Warning("note", "w_wifi", {"dbm": round(dbm)}))
    cec = hb.get("cec") if isinstance(hb.get("cec"), dict) else {}
    adapter = text(cec, "adapter")
    # "disabled" is the maintainer's own choice (cec.enabled: false), not something to warn about.
    if adapter and adapter not in ("open", "disabled"):
        key = f"w_cec_{adapter}" if adapter in ("opening", "unavailable") else "w_cec"
        out.append(Warning("note", key, {"state": adapter}))
    if text(cec, "tv_power") == "standby":
        out.append(Warning("note", "w_tv_standby"))
    elif cec.get("active_source") is False:
        out.append(Warning("note", "w_not_active"))
    spool_error = text(hb, "spool", "error", limit=200)
    if spool_error:
        # Sent straight past a spool that could not keep it: the box is up, its card is not.
        full = isinstance(hb.get("spool"), dict) and hb["spool"].get("disk_full") is True
        out.append(Warning("bad", "w_box_disk_full" if full else "w_spool_error", detail=spool_error))
    dropped = number(hb, "spool", "dropped")
    if dropped:
        out.append(Warning("bad", "w_dropped", {"n": int(dropped)}))
    sent_at = number(hb, "sent_at")
    if sent_at is not None and received_at is not None and sent_at - received_at > CLOCK_AHEAD_S:
        # Its times are not trusted past their arrival (heartbeats.arrival_order), but he should know.
        out.append(Warning("bad", "w_clock_ahead", {"seconds": sent_at - received_at}))
    elif sent_at is not None and received_at is not None and abs(received_at - sent_at) > CLOCK_SKEW_S:
        # A spooled heartbeat is old on purpose; only the newest one tells the clock's error.
        out.append(Warning("note", "w_clock", {"seconds": abs(received_at - sent_at)}))
    if hb.get("going_down") is True:
        out.append(Warning("note", "w_going_down"))
    if rejected_at is not None and now - rejected_at < 86400:
        out.append(Warning("bad", "w_revoked_used", {"seconds": now - rejected_at}))
    return out


def _refused(refused: Any) -> Warning:
    if not isinstance(refused, dict):
        return Warning("bad", "w_refused", detail=clean(refused, 300))
    status = number(refused, "status")
    message = text(refused, "message", limit=300)
    key = "w_refused_token" if status in (401, 403) else "w_refused"
    return Warning("bad", key, detail=f"HTTP {int(status)}: {message}" if status is not None else message)


def _recent_errors(hb: dict[str, Any]) -> list[str]:
    """The TV app's problems from the last ``RECENT_ERRORS_S``, as "hh:mm:ss level: message" lines.

    Both times are the box's clock (an error's ``time`` and the heartbeat's ``sent_at``), so a box
    whose clock is off still ages its errors right. Without ``sent_at`` every listed error counts.
    """
    tv = hb.get("tv") if isinstance(hb.get("tv"), dict) else {}
    errors = tv.get("errors")
    if not isinstance(errors, list):
        return []
    sent_at = number(hb, "sent_at")
    lines = []
    for item in errors[-20:]:
        if not isinstance(item, dict):
            continue
        when = number(item, "time")
        if sent_at is not None and when is not None and sent_at - when > RECENT_ERRORS_S:
            continue
        stamp = time.strftime("%H:%M:%S", time.gmtime(when)) + " UTC " if when is not None and 0 < when < 1e11 else ""
        level = text(item, "level", limit=10) or "error"
        lines.append(f"{stamp}{level}: {text(item, 'message', limit=300) or ''}")
    return lines
