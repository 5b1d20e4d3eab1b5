"""The updater's systemd units pass `systemd-analyze verify`, and run-current starts the right version."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"
MINE = ["piclient-update.service", "piclient-update.path", "piclient-update-recover.service"]


def _analyze(directory: Path, *units: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemd-analyze", "verify", "--man=no", *(f"./{u}" for u in units)],
                          capture_output=True, text=True, timeout=120, cwd=directory, check=False)


@pytest.fixture
def unit_dir(tmp_path: Path) -> Path:
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    (tmp_path / "probe.service").write_text("[Service]\nType=oneshot\nExecStart=/bin/true\n")
    probe = _analyze(tmp_path, "probe.service")
    if probe.returncode != 0 or probe.stderr.strip():
        pytest.skip(f"systemd-analyze verify does not run here: {probe.stderr.strip()[:300]}")
    program = tmp_path / "bin" / "piclient"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    for name in MINE:
        text = (SYSTEMD / name).read_text().replace("/opt/piclient/bin/piclient", str(program))
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_updater_units_pass_systemd_analyze_verify(unit_dir: Path) -> None:
    done = _analyze(unit_dir, *MINE)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_the_launcher_and_agent_start_through_run_current() -> None:
    for unit in ("tv", "agent"):
        text = (SYSTEMD / f"piclient-{unit}.service.d" / "50-updates.conf").read_text()
        assert f"ExecStart=\nExecStart=/usr/libexec/piclient/run-current {unit} " in text
        assert "After=piclient-update-recover.service" in text


def _run_current(tmp_path: Path, make_current: bool, complete: bool) -> str:
    """run-current with its two paths moved under tmp_path; returns which program ran."""
    root = tmp_path / "root"
    for name, where in (("factory", root / "opt/piclient/bin"), ("updated", root / "current/bin")):
        if name == "updated" and not make_current:
            continue
        where.mkdir(parents=True, exist_ok=True)
        (where / "piclient").write_text(f"#!/bin/sh\necho {name} \"$@\"\n")
        (where / "piclient").chmod(0o755)
    if make_current and complete:
        (root / "current" / ".complete").write_text("{}")
    script = (SYSTEMD / "libexec" / "run-current").read_text()
    script = script.replace("/var/lib/piclient/updates/current", str(root / "current"))
    script = script.replace("/opt/piclient", str(root / "opt/piclient"))
    (tmp_path / "run-current").write_text(script)
    done = subprocess.run(["sh", str(tmp_path / "run-current"), "tv", "--config", "x"], capture_output=True,
                          text=True, timeout=30, check=True)
    return done.stdout.strip()


@pytest.mark.parametrize(("make_current", "complete", "expected"), [
    (True, True, "updated tv --config x"),
    (True, False, "factory tv --config x"),   # half an install is never started
    (False, False, "factory tv --config x"),
])
def test_run_current_starts_a_complete_update_or_else_the_image(tmp_path: Path, make_current: bool, complete: bool,
                                                                expected: str) -> None:
    assert _run_current(tmp_path, make_current, complete) == expected
