"""What deserves the maintainer's attention in a box's latest heartbeat, as (level, i18n key, params)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from piclient.server.heartbeats import number, text

HOT_C = 75.0
DISK_LOW = 0.05
MEMORY_LOW = 0.10
WIFI_WEAK_DBM = -75.0
CLOCK_SKEW_S = 300.0


@dataclass(frozen=True)
class Warning:
    level: str  # "bad" or "note"
    key: str
    params: dict[str, Any] = field(default_factory=dict)


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
        detail = text(hb, "tv", "detail", limit=200)
        out.append(Warning("bad", f"w_tv_{state}", {"detail": f": {detail}" if detail else ""}))
    refused = (hb.get("agent") or {}).get("refused") if isinstance(hb.get("agent"), dict) else None
    if refused:
        out.append(Warning("bad", "w_refused", {"why": str(refused)[:200]}))
    catalog_error = text(hb, "tv", "catalog", "error", limit=200)
    if catalog_error:
        # The box keeps showing its last good films; a network hiccup mends itself, the rest needs him.
        kind = text(hb, "tv", "catalog", "error_kind", limit=20) or "other"
        out.append(Warning("note" if kind == "network" else "bad", "w_catalog", {"kind": kind, "error": catalog_error}))
    errors = (hb.get("tv") or {}).get("errors") if isinstance(hb.get("tv"), dict) else None
    if isinstance(errors, list) and errors:
        last = errors[-1].get("message") if isinstance(errors[-1], dict) else None
        out.append(Warning("note", "w_errors", {"n": len(errors), "last": str(last or "")[:160]}))
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
    dropped = number(hb, "spool", "dropped")
    if dropped:
        out.append(Warning("bad", "w_dropped", {"n": int(dropped)}))
    sent_at = number(hb, "sent_at")
    if sent_at is not None and received_at is not None and abs(received_at - sent_at) > CLOCK_SKEW_S:
        # A spooled heartbeat is old on purpose; only the newest one tells the clock's error.
        out.append(Warning("note", "w_clock", {"seconds": abs(received_at - sent_at)}))
    if hb.get("going_down") is True:
        out.append(Warning("note", "w_going_down"))
    if rejected_at is not None and now - rejected_at < 86400:
        out.append(Warning("bad", "w_revoked_used", {"seconds": now - rejected_at}))
    return out
