"""kill -9 at every step of an update, in a real process, then the boot-time recovery: the box always
has one complete version behind ``current``, and the update finishes or is undone."""

from __future__ import annotations

from pathlib import Path

import pytest

from piclient.update import download, health, status, switch
from piclient.update.layout import Layout
from piclient.update.runner import Request, Updater
from tests.update.kill_child import killed_at
from tests.update.supervisor import ProcessUnits
from tests.update.versions import build_bundle
from tests.waiting import wait_until

STEPS = ["venv-created", "installed", *switch.STEPS, "restarted"]
LIMITS = health.Limits(deadline_s=20.0, settle_s=1.0, max_restarts=3, poll_s=0.2)


@pytest.mark.parametrize("step", STEPS)
def test_a_kill_at_each_step_leaves_one_working_version(layout: Layout, tmp_path: Path, step: str) -> None:
    killed_at(layout, tmp_path, step)
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


# Every step of a rollback, from the decision written down to the request removed; "current-renamed"
# is the window the decision was once lost in (switched back, "rolled_back" not yet written).
ROLLBACK_STEPS = ["rollback-decided", *switch.STEPS[1:], "rolled-back"]


def _started(units: ProcessUnits) -> list[str]:
    """Every program the units started, from their logs' "start" lines."""
    return [line.split(" start ", 1)[1] for name in ("tv", "agent") if (units.logs / f"{name}.log").exists()
            for line in (units.logs / f"{name}.log").read_text().splitlines() if " start " in line]


@pytest.mark.parametrize("step", ROLLBACK_STEPS)
def test_a_kill_while_rolling_back_never_starts_the_bad_version_again(layout: Layout, tmp_path: Path,
                                                                       step: str) -> None:
    killed_at(layout, tmp_path, f"rollback:{step}", "tv-crashes")
    assert layout.is_complete(layout.running_venv())
    units = ProcessUnits(layout, tmp_path / "run")
    # In the order of a boot: recovery before the units, then the updater the path unit starts.
    updater = Updater(layout, units, limits=LIMITS)
    assert updater.recover() == layout.factory
    units.start()
    try:
        doc = updater.run()
        assert doc is not None and doc["state"] == "rolled_back", doc
        assert doc["version"] == "2.0" and doc["running"] == "factory"
        assert layout.running_venv() == layout.factory
        wait_until(lambda: units.running_version() == "1.0", 30, "version 1.0 answering")
        bad = str(layout.version_dir("2.0"))
        assert not [exe for exe in _started(units) if exe.startswith(bad)], "the judged version was started again"
        assert units.restarts() == {"piclient-tv.service": 0, "piclient-agent.service": 0}
        # Nothing left that could bring it back: no request, no venv, no link naming it.
        assert not layout.request.exists()
        assert not layout.version_dir("2.0").exists()
        assert not layout.previous.is_symlink()
        assert status.read(layout.status) == doc
        # The next boot finds nothing to do.
        assert Updater(layout, units, limits=LIMITS).boot() is None
    finally:
        units.stop()


def test_a_version_rolled_back_is_only_tried_again_when_offered_again(layout: Layout, tmp_path: Path) -> None:
    killed_at(layout, tmp_path, "rollback:rolled-back", "tv-crashes")
    units = ProcessUnits(layout, tmp_path / "run")
    updater = Updater(layout, units, limits=LIMITS)
    updater.recover()
    units.start()
    try:
        # The request the rollback left is not an offer: the box stays on the old version.
        doc = updater.run()
        assert doc is not None and doc["state"] == "rolled_back", doc
        offer = {"version": "2.0", "sha256": "0" * 64, "url": "/b", "size": 1, "signature": ""}
        assert not download.wanted(layout, offer, "factory")
        # Offered again (the agent writes "downloading", then the request): tried again, from the start.
        path, sha = build_bundle(tmp_path / "again", "2.0", "good")
        status.write(layout.status, "downloading", "2.0", from_version="factory")
        layout.request.write_text(Request(path, sha, "2.0").to_json())
        doc = updater.run()
        assert doc is not None and doc["state"] == "kept", doc
        wait_until(lambda: units.running_version() == "2.0", 30, "version 2.0 answering")
    finally:
        units.stop()


def test_a_version_that_keeps_taking_the_box_down_is_rolled_back_at_boot(layout: Layout, tmp_path: Path) -> None:
    killed_at(layout, tmp_path, "restarted")
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
