"""Health probes for the heartbeat: temperature, firmware throttling flags, load, memory, disk, Wi-Fi.

Every probe is optional and never raises: a box that cannot read its temperature leaves it out of
the heartbeat. File paths and the vcgencmd argv are parameters so tests feed their own files.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# `vcgencmd get_throttled` bits (Raspberry Pi firmware): the low half is "now", the high half "since boot".
THROTTLE_BITS = {
    "under_voltage": 0,
    "freq_capped": 1,
    "throttled": 2,
    "soft_temp_limit": 3,
}
OCCURRED_SHIFT = 16


@dataclass(frozen=True)
class ProbePaths:
    thermal: Path = Path("/sys/class/thermal/thermal_zone0/temp")
    meminfo: Path = Path("/proc/meminfo")
    loadavg: Path = Path("/proc/loadavg")
    wireless: Path = Path("/proc/net/wireless")
    uptime: Path = Path("/proc/uptime")


class SystemProbe:
    def __init__(self, disk_path: Path, paths: ProbePaths | None = None,
                 vcgencmd: Sequence[str] | None = ("vcgencmd", "get_throttled")) -> None:
        self.disk_path = Path(disk_path)
        self.paths = paths or ProbePaths()
        self.vcgencmd = list(vcgencmd) if vcgencmd else None
        # Looked up once: on a PC it is simply absent, and that is not worth a log line per heartbeat.
        self._vcgencmd_found = bool(self.vcgencmd and shutil.which(self.vcgencmd[0]))
        self._missing: set[str] = set()

    def snapshot(self) -> dict[str, Any]:
        """The heartbeat's ``system`` section, with whatever this box can tell."""
        probes: dict[str, Callable[[], Any]] = {
            "cpu_temp_c": self.cpu_temp_c,
            "throttled": self.throttled,
            "load": self.load,
            "wifi": self.wifi,
        }
        result: dict[str, Any] = {}
        for key, probe in probes.items():
            value = self._safe(probe)
            if value is not None:
                result[key] = value
        for probe in (self.memory, self.disk):
            value = self._safe(probe)
            if value:
                result.update(value)
        return result

    def _safe(self, probe: Callable[[], Any]) -> Any:
        value = _safe(probe, quiet=probe.__name__ in self._missing)
        if value is None:
            self._missing.add(probe.__name__)  # said once; a PC has no Pi thermal zone, every heartbeat
        return value

    def uptime_s(self) -> float | None:
        return _safe(lambda: round(float(self.paths.uptime.read_text().split()[0]), 1))

    def cpu_temp_c(self) -> float | None:
        millidegrees = int(self.paths.thermal.read_text().strip())
        return round(millidegrees / 1000, 1)

    def throttled(self) -> dict[str, Any] | None:
        if not self._vcgencmd_found or not self.vcgencmd:
            return None
        done = subprocess.run(self.vcgencmd, capture_output=True, text=True, timeout=3, check=False)
        if done.returncode != 0:
            return None
        return decode_throttled(done.stdout)

    def load(self) -> list[float]:
        fields = self.paths.loadavg.read_text().split()
        return [float(value) for value in fields[:3]]

    def memory(self) -> dict[str, int]:
        return parse_meminfo(self.paths.meminfo.read_text())

    def disk(self) -> dict[str, int]:
        usage = shutil.disk_usage(self.disk_path)
        return {"disk_total": usage.total, "disk_free": usage.free}

    def wifi(self) -> dict[str, Any] | None:
        return parse_wireless(self.paths.wireless.read_text())


def decode_throttled(text: str) -> dict[str, Any] | None:
    """``throttled=0x50005`` -> the raw value and one flag per bit, "now" and "occurred since boot"."""
    value = text.strip().rpartition("=")[2].strip()
    try:
        bits = int(value, 16)
    except ValueError:
        return None
    flags: dict[str, Any] = {"raw": hex(bits)}
    for name, bit in THROTTLE_BITS.items():
        flags[f"{name}_now"] = bool(bits >> bit & 1)
        flags[f"{name}_occurred"] = bool(bits >> (bit + OCCURRED_SHIFT) & 1)
    return flags


def parse_meminfo(text: str) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        fields = rest.split()
        if name in ("MemTotal", "MemAvailable") and fields and fields[0].isdigit():
            scale = 1024 if len(fields) > 1 and fields[1].lower() == "kb" else 1
            values["mem_total" if name == "MemTotal" else "mem_available"] = int(fields[0]) * scale
    return values


def parse_wireless(text: str) -> dict[str, Any] | None:
    """The first interface in /proc/net/wireless: link quality (of 70) and signal level in dBm."""
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        fields = rest.split()
        if not sep or len(fields) < 3:
            continue
        try:
            link = float(fields[1].rstrip("."))
            level = float(fields[2].rstrip("."))
        except ValueError:
            continue
        # Older drivers report level as an unsigned byte (e.g. 195 for -61 dBm).
        if level > 63:
            level -= 256
        return {"interface": name.strip(), "signal_dbm": round(level),
                "quality": round(min(1.0, max(0.0, link / 70)), 2)}
    return None


def _safe(probe: Callable[[], Any], quiet: bool = False) -> Any:
    try:
        return probe()
    except (OSError, ValueError, IndexError, subprocess.SubprocessError) as exc:
        if not quiet:
            log.debug("probe %s unavailable: %s", getattr(probe, "__name__", "?"), exc)
        return None
    except Exception:  # a probe must never cost a heartbeat
        if not quiet:
            log.debug("probe failed", exc_info=True)
        return None
