"""Updates between real venvs of real wheels, with the real launcher and agent processes restarted
by a supervisor: a good version is kept, each kind of broken one is rolled back and says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from piclient.update import health, status
from piclient.update.layout import Layout
from piclient.update.runner import Request, Updater
from tests.update.supervisor import ProcessUnits
from tests.update.versions import build_bundle
from tests.waiting import wait_until

# Generous for a loaded machine: a good version passes as soon as it has settled; only the hang
# waits the whole deadline, and it can only fail.
LIMITS = health.Limits(deadline_s=20.0, settle_s=1.0, max_restarts=3, poll_s=0.2)


def _update(layout: Layout, units: ProcessUnits, tmp_path: Path, version: str, behaviour: str,
            limits: health.Limits = LIMITS) -> dict:
    wait_until(lambda: units.running_version() == "1.0", 30, "the image's version running")
    path, sha = build_bundle(tmp_path / "bundles", version, behaviour)
    return Updater(layout, units, limits=limits).apply(Request(path, sha, version))


def test_a_good_version_is_kept_and_runs(layout: Layout, units: ProcessUnits, tmp_path: Path) -> None:
    doc = _update(layout, units, tmp_path, "2.0", "good")
    assert doc["state"] == "kept", doc
    assert layout.running_venv() == layout.version_dir("2.0")
    assert layout.link_target(layout.previous) == layout.factory
    wait_until(lambda: units.running_version() == "2.0", 30, "version 2.0 answering")
    assert status.read(layout.status)["state"] == "kept"
    assert not layout.request.exists()


def test_her_progress_is_copied_before_the_switch_and_kept_through_a_rollback(layout: Layout, units: ProcessUnits,
                                                                             tmp_path: Path) -> None:
    from piclient.state import StateStore

    db = tmp_path / "state.db"
    store = StateStore(db)
    store.save_progress("spring-day", 1234.0, 5400.0)
    store.close()
    wait_until(lambda: units.running_version() == "1.0", 30, "the image's version running")
    path, sha = build_bundle(tmp_path / "bundles", "2.0", "tv-crashes")
    doc = Updater(layout, units, limits=LIMITS, state_db=db).apply(Request(path, sha, "2.0"))
    assert doc["state"] == "rolled_back"
    for copy in (db, layout.backups / "state-factory.db"):
        store = StateStore(copy)
        try:
            assert store.progress("spring-day").position == 1234.0
        finally:
            store.close()


def test_a_launcher_that_crashes_at_start_is_rolled_back(layout: Layout, units: ProcessUnits,
                                                         tmp_path: Path) -> None:
    doc = _update(layout, units, tmp_path, "2.0", "tv-crashes")
    assert doc["state"] == "rolled_back", doc
    assert "piclient-tv.service" in doc["reason"] and "crash loop" in doc["reason"]
    assert "the launcher crashed at start" in doc["log_tail"]
    assert layout.running_venv() == layout.factory
    assert not layout.version_dir("2.0").exists() and not layout.previous.is_symlink()
    wait_until(lambda: units.running_version() == "1.0", 30, "version 1.0 answering again")


def test_a_launcher_that_never_draws_is_rolled_back_at_the_deadline(layout: Layout, units: ProcessUnits,
                                                                    tmp_path: Path) -> None:
    limits = health.Limits(deadline_s=3.0, settle_s=1.0, max_restarts=3, poll_s=0.2)
    doc = _update(layout, units, tmp_path, "2.0", "tv-hangs", limits)
    assert doc["state"] == "rolled_back", doc
    assert "no first frame" in doc["reason"]
    assert "tinybox 2.0 launcher starting" in doc["log_tail"]
    wait_until(lambda: units.running_version() == "1.0", 30, "version 1.0 answering again")


def test_an_agent_that_crashes_is_rolled_back(layout: Layout, units: ProcessUnits, tmp_path: Path) -> None:
    doc = _update(layout, units, tmp_path, "2.0", "agent-crashes")
    assert doc["state"] == "rolled_back", doc
    assert "piclient-agent.service" in doc["reason"]
    assert "the agent crashed at start" in doc["log_tail"]
    assert layout.running_venv() == layout.factory
    wait_until(lambda: units.running_version() == "1.0", 30, "version 1.0 answering again")


def test_a_bad_version_after_a_good_one_goes_back_to_the_good_one(layout: Layout, units: ProcessUnits,
                                                                  tmp_path: Path) -> None:
    assert _update(layout, units, tmp_path, "2.0", "good")["state"] == "kept"
    wait_until(lambda: units.running_version() == "2.0", 30, "version 2.0 answering")
    path, sha = build_bundle(tmp_path / "bundles", "3.0", "tv-crashes")
    doc = Updater(layout, units, limits=LIMITS).apply(Request(path, sha, "3.0"))
    assert doc["state"] == "rolled_back" and doc["running"] == "2.0"
    assert layout.running_venv() == layout.version_dir("2.0")
    wait_until(lambda: units.running_version() == "2.0", 30, "version 2.0 answering again")


def test_a_bundle_with_the_wrong_hash_is_refused_before_anything_changes(layout: Layout, units: ProcessUnits,
                                                                         tmp_path: Path) -> None:
    path, _ = build_bundle(tmp_path / "bundles", "2.0", "good")
    doc = Updater(layout, units, limits=LIMITS).apply(Request(path, "0" * 64, "2.0"))
    assert doc["state"] == "failed" and "SHA-256" in doc["reason"]
    assert layout.running_venv() == layout.factory
    assert not layout.version_dir("2.0").exists()


@pytest.mark.parametrize("key", ["good", "bad"])
def test_a_signed_update_needs_the_trusted_key(layout: Layout, units: ProcessUnits, tmp_path: Path,
                                               key: str) -> None:
    from piclient.update import signing

    private = signing.new_private_key()
    trusted = signing.public_key_text(private if key == "good" else signing.new_private_key())
    path, sha = build_bundle(tmp_path / "bundles", "2.0", "good")
    wait_until(lambda: units.running_version() == "1.0", 30, "the image's version running")
    updater = Updater(layout, units, public_key=trusted, limits=LIMITS)
    doc = updater.apply(Request(path, sha, "2.0", signing.sign(private, sha)))
    if key == "good":
        assert doc["state"] == "kept", doc
    else:
        assert doc["state"] == "failed" and "signature" in doc["reason"]
        assert layout.running_venv() == layout.factory
