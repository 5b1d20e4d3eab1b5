"""kill -9 at every step of an update, in a real process, then the boot-time recovery: the box always
has one complete version behind ``current``, and the update finishes or is undone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from piclient.update import health, status, switch
from piclient.update.layout import Layout
from piclient.update.runner import Updater
from tests.update.supervisor import ProcessUnits
from tests.update.versions import build_bundle
from tests.waiting import wait_until

STEPS = ["venv-created", "installed", *switch.STEPS, "restarted"]
LIMITS = health.Limits(deadline_s=20.0, settle_s=1.0, max_restarts=3, poll_s=0.2)
ROOT = Path(__file__).resolve().parents[2]


def _killed_at(layout: Layout, tmp_path: Path, step: str, behaviour: str = "good") -> None:
    path, sha = build_bundle(tmp_path / "bundles", "2.0", behaviour)
    done = subprocess.run([sys.executable, "-m", "tests.update.kill_child", str(layout.root), str(layout.factory),
                           str(path), sha, "2.0", step], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, f"not killed at {step}: {done.returncode} {done.stderr[-2000:]}"


@pytest.mark.parametrize("step", STEPS)
def test_a_kill_at_each_step_leaves_one_working_version(layout: Layout, tmp_path: Path, step: str) -> None:
    _killed_at(layout, tmp_path, step)
    # What the units would start if the power came back now, before anything mends it.
    assert layout.is_complete(layout.running_venv())
    assert layout.running_venv() in (layout.factory, layout.version_dir("2.0"))

    units = ProcessUnits(layout, tmp_path / "run")
    units.start()
    try:
        doc = Updater(layout, units, limits=LIMITS).boot()
        assert doc is not None and doc["state"] == "kept", doc
        assert layout.running_venv() == layout.version_dir("2.0")
        wait_until(lambda: units.running_version() == "2.0", 30, "version 2.0 answering")
        assert not any(p.name.endswith(".new") for p in layout.root.iterdir())
        # Nor the unpacked wheels of an install the kill interrupted (tens of MB on her card, each time).
        assert not any(p.name.startswith(".unpack-") for p in layout.root.iterdir())
    finally:
        units.stop()


@pytest.mark.parametrize("step", switch.STEPS[1:])
def test_a_kill_while_switching_back_still_ends_on_the_old_version(layout: Layout, tmp_path: Path, step: str) -> None:
    _killed_at(layout, tmp_path, f"rollback:{step}", "tv-crashes")
    assert layout.is_complete(layout.running_venv())
    units = ProcessUnits(layout, tmp_path / "run")
    units.start()
    try:
        doc = Updater(layout, units, limits=LIMITS).boot()
        assert doc is not None and doc["state"] == "rolled_back", doc
        assert layout.running_venv() == layout.factory
        wait_until(lambda: units.running_version() == "1.0", 30, "version 1.0 answering")
    finally:
        units.stop()


def test_a_version_that_keeps_taking_the_box_down_is_rolled_back_at_boot(layout: Layout, tmp_path: Path) -> None:
    _killed_at(layout, tmp_path, "restarted")
    doc = status.read(layout.status)
    assert doc is not None and doc["state"] == "trying"
    status.write(layout.status, "trying", "2.0", from_version="factory", attempts=2, since=doc["since"])
    units = ProcessUnits(layout, tmp_path / "run")
    units.start()
    try:
        doc = Updater(layout, units, limits=LIMITS).boot()
        assert doc is not None and doc["state"] == "rolled_back", doc
        assert "went down" in doc["reason"]
        assert layout.running_venv() == layout.factory
        wait_until(lambda: units.running_version() == "1.0", 30, "version 1.0 answering")
    finally:
        units.stop()


def test_recovery_with_nothing_under_way_points_current_at_the_image(layout: Layout) -> None:
    assert switch.recover(layout) == layout.factory
    assert layout.link_target(layout.current) == layout.factory
    assert Updater(layout, units=None, limits=LIMITS).run() is None  # type: ignore[arg-type]
