"""systemd/: every unit passes `systemd-analyze verify`, and each one keeps the promises the box relies on."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.systemd.units import SYSTEMD_DIR, read_unit, value

UNITS = sorted(p.name for p in SYSTEMD_DIR.iterdir() if p.suffix in (".service", ".socket"))
INSTALLED_PROGRAM = "/opt/piclient/bin/piclient"  # where image/build.sh puts the venv
INSTALLED_LIBEXEC = "/usr/libexec/piclient/"


def _verify_copy(unit: str, directory: Path) -> Path:
    """All units side by side (a socket needs its service), their programs pointing at files that exist
    here: verify checks that ExecStart can run. Returns the copy of ``unit``, an instance for a template."""
    program = directory / "bin" / "piclient"
    program.parent.mkdir(parents=True, exist_ok=True)
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    for name in UNITS:
        text = (SYSTEMD_DIR / name).read_text(encoding="utf-8")
        text = text.replace(INSTALLED_PROGRAM, str(program)).replace(INSTALLED_LIBEXEC, f"{SYSTEMD_DIR / 'libexec'}/")
        (directory / name).write_text(text, encoding="utf-8")
        if "@." in name:
            (directory / name.replace("@.", "@example.")).write_text(text, encoding="utf-8")
    return directory / (unit.replace("@.", "@example.") if "@." in unit else unit)


def _analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemd-analyze", "verify", "--man=no", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd, check=False)


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    # A unit known to be good tells "this container cannot run the verifier" from "our unit is wrong".
    probe = tmp_path_factory.mktemp("probe")
    (probe / "probe.service").write_text("[Service]\nType=oneshot\nExecStart=/bin/true\n")
    done = _analyze("./probe.service", cwd=probe)
    if done.returncode != 0 or done.stderr.strip():
        pytest.skip(f"systemd-analyze verify does not run here: {done.stderr.strip()[:300]}")
    return probe


@pytest.mark.parametrize("unit", UNITS)
def test_every_unit_passes_systemd_analyze_verify_without_a_warning(unit: str, analyzer: Path,
                                                                   tmp_path: Path) -> None:
    copy = _verify_copy(unit, tmp_path)
    done = _analyze(f"./{copy.name}", cwd=tmp_path)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_verify_catches_a_misspelt_key(analyzer: Path, tmp_path: Path) -> None:
    # The test above would be worthless if the verifier let typos through.
    copy = _verify_copy("piclient-tv.service", tmp_path)
    copy.write_text(copy.read_text().replace("Restart=always", "Restrat=always"))
    assert "Unknown key" in _analyze(f"./{copy.name}", cwd=tmp_path).stderr


@pytest.mark.parametrize("unit", ["piclient-tv.service", "piclient-agent.service", "piclient-server.service"])
def test_the_daemons_notify_restart_always_and_have_a_watchdog(unit: str) -> None:
    service = read_unit(unit)["Service"]
    assert service["Type"] == ["notify"]
    assert service["NotifyAccess"] == ["main"]  # a child (libmpv, journalctl) cannot claim readiness
    assert service["Restart"] == ["always"]
    assert float(service["WatchdogSec"][-1]) > 0
    assert service["ExecStart"][0].split()[0] == INSTALLED_PROGRAM or unit == "piclient-server.service"
    assert service["StandardOutput"] == ["journal"]


def test_a_launcher_that_keeps_crashing_rests_then_starts_again_by_itself() -> None:
    tv = read_unit("piclient-tv.service")
    assert value(tv, "Unit", "OnFailure") == "piclient-retry@%n.service"
    retry = read_unit("piclient-retry@.service")["Service"]["ExecStart"]
    assert retry[-2:] == ["/bin/systemctl reset-failed %i", "/bin/systemctl start --no-block %i"]


def test_the_agent_never_gives_up_restarting() -> None:
    assert value(read_unit("piclient-agent.service"), "Unit", "StartLimitIntervalSec") == "0"


def test_the_launchers_hardening_leaves_it_the_tvs_devices() -> None:
    tv = read_unit("piclient-tv.service")["Service"]
    # Each of these would hide /dev/dri, /dev/cec0, /dev/input or /dev/snd (ProtectClock adds a device allow-list).
    for key in ("PrivateDevices", "DevicePolicy", "DeviceAllow", "ProtectClock", "PrivateUsers"):
        assert key not in tv
    assert set(tv["SupplementaryGroups"][-1].split()) == {"video", "render", "input", "audio"}
    assert tv["NoNewPrivileges"] == ["yes"]
    assert tv["ProtectSystem"] == ["strict"]
    # Mesa's software renderer compiles shaders at run time.
    assert "MemoryDenyWriteExecute" not in tv


def test_the_agent_can_read_only_the_piclient_units_journal() -> None:
    socket = read_unit("piclient-journal.socket")["Socket"]
    assert socket["SocketGroup"] == ["piclient"] and socket["SocketMode"] == ["0660"]
    script = (SYSTEMD_DIR / "libexec" / "unit-journal").read_text()
    assert "--unit=piclient-tv.service --unit=piclient-agent.service" in script
