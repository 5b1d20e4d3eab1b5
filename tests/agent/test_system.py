"""Health probes read the Pi's files and firmware flags, and leave out what a box cannot tell."""

from __future__ import annotations

import sys
from pathlib import Path

from piclient.agent.system import ProbePaths, SystemProbe, decode_throttled, parse_wireless

WIRELESS = """Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE
 face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22
 wlan0: 0000   49.  -61.  -256        0      0      0      0     12        0
"""


def pi_files(tmp_path: Path) -> ProbePaths:
    paths = ProbePaths(thermal=tmp_path / "temp", meminfo=tmp_path / "meminfo", loadavg=tmp_path / "loadavg",
                       wireless=tmp_path / "wireless", uptime=tmp_path / "uptime")
    paths.thermal.write_text("51234\n")
    paths.meminfo.write_text("MemTotal:        3884136 kB\nMemFree:  100 kB\nMemAvailable:    2871212 kB\n")
    paths.loadavg.write_text("0.15 0.25 0.35 1/234 5678\n")
    paths.wireless.write_text(WIRELESS)
    paths.uptime.write_text("3600.42 7000.00\n")
    return paths


def test_a_pi_reports_temperature_load_memory_disk_and_wifi(tmp_path: Path) -> None:
    probe = SystemProbe(tmp_path, pi_files(tmp_path), vcgencmd=None)
    snapshot = probe.snapshot()
    assert snapshot["cpu_temp_c"] == 51.2
    assert snapshot["load"] == [0.15, 0.25, 0.35]
    assert snapshot["mem_total"] == 3884136 * 1024
    assert snapshot["mem_available"] == 2871212 * 1024
    assert snapshot["disk_total"] >= snapshot["disk_free"] > 0
    assert snapshot["wifi"] == {"interface": "wlan0", "signal_dbm": -61, "quality": 0.7}
    assert "throttled" not in snapshot
    assert probe.uptime_s() == 3600.4


def test_throttling_flags_are_decoded_from_vcgencmd(tmp_path: Path) -> None:
    fake = (sys.executable, "-c", "print('throttled=0x50005')")
    flags = SystemProbe(tmp_path, pi_files(tmp_path), vcgencmd=fake).snapshot()["throttled"]
    assert flags["raw"] == "0x50005"
    assert flags["under_voltage_now"] and flags["throttled_now"]
    assert flags["under_voltage_occurred"] and flags["throttled_occurred"]
    assert not flags["freq_capped_now"] and not flags["soft_temp_limit_occurred"]


def test_the_protocol_example_value_means_under_voltage_and_throttling_happened_earlier() -> None:
    flags = decode_throttled("throttled=0x50000")
    assert flags is not None
    assert (flags["under_voltage_now"], flags["under_voltage_occurred"]) == (False, True)
    assert (flags["throttled_now"], flags["throttled_occurred"]) == (False, True)
    assert decode_throttled("error=1 unknown command") is None


def test_a_box_without_those_files_leaves_them_out_instead_of_failing(tmp_path: Path) -> None:
    paths = ProbePaths(thermal=tmp_path / "no", meminfo=tmp_path / "no", loadavg=tmp_path / "no",
                       wireless=tmp_path / "no", uptime=tmp_path / "no")
    probe = SystemProbe(tmp_path, paths, vcgencmd=("no-such-vcgencmd", "get_throttled"))
    snapshot = probe.snapshot()
    assert set(snapshot) == {"disk_total", "disk_free"}
    assert probe.uptime_s() is None


def test_garbage_in_a_probe_file_costs_only_that_value(tmp_path: Path) -> None:
    paths = pi_files(tmp_path)
    paths.thermal.write_text("hot\n")
    snapshot = SystemProbe(tmp_path, paths, vcgencmd=None).snapshot()
    assert "cpu_temp_c" not in snapshot
    assert snapshot["load"] == [0.15, 0.25, 0.35]


def test_wifi_levels_from_old_drivers_are_read_as_dbm() -> None:
    old = WIRELESS.replace("-61.", "195.")
    assert parse_wireless(old) == {"interface": "wlan0", "signal_dbm": -61, "quality": 0.7}
    assert parse_wireless(WIRELESS.splitlines()[0] + "\n" + WIRELESS.splitlines()[1]) is None
