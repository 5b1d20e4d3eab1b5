"""A rollback after the new version migrated her state database to a schema the old version cannot use:
the old version comes back working, with the progress she made during the trial carried over.
Real venvs, real launcher processes, the real StateStore and a real migration (tests/update/versions.py)."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from piclient.state import StateStore
from piclient.update import health, state_backup
from piclient.update.layout import Layout
from piclient.update.runner import Request, Updater
from tests.update.kill_child import killed_at
from tests.update.supervisor import ProcessUnits
from tests.update.versions import MIGRATION, build_bundle
from tests.waiting import wait_until

LIMITS = health.Limits(deadline_s=60.0, settle_s=1.0, max_restarts=3, poll_s=0.2)
BEFORE = 1_700_000_000.0  # her progress before the update, older than anything the trial writes


def _her_state(db: Path) -> None:
    store = StateStore(db)
    try:
        store.save_progress("spring-day", 1234.0, 5400.0, now=BEFORE)
        store.save_progress("old-film", 300.0, 6000.0, now=BEFORE)
        store.begin_session(now=BEFORE)
    finally:
        store.close()


def _progress(db: Path) -> dict[str, float]:
    store = StateStore(db)
    try:
        return {ident: p.position for ident, p in store.all_progress().items()}
    finally:
        store.close()


def test_the_old_version_cannot_use_the_migrated_database_as_it_is(factory: Path, tmp_path: Path) -> None:
    # Why the restore exists: without it the image's launcher dies at start on the trial's database.
    db = tmp_path / "state.db"
    _her_state(db)
    migrated = sqlite3.connect(db)
    migrated.executescript(MIGRATION)
    migrated.close()
    done = subprocess.run([str(factory / "bin" / "piclient"), "tv"], capture_output=True, text=True, timeout=60,
                          env={"PICLIENT_TEST_STATE": str(db), "PICLIENT_TEST_SOCKET": str(tmp_path / "tv.sock")})
    assert done.returncode != 0 and "ON CONFLICT clause does not match" in done.stderr


def test_a_rollback_after_a_migration_brings_the_old_version_back_with_her_trial_progress(
        layout: Layout, tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    _her_state(db)
    units = ProcessUnits(layout, tmp_path / "run", state_db=db)
    units.start()
    try:
        wait_until(lambda: units.running_version() == "1.0", 30, "the image's version running")
        path, sha = build_bundle(tmp_path / "bundles", "2.0", "migrates-agent-crashes")
        doc = Updater(layout, units, limits=LIMITS, state_db=db).apply(Request(path, sha, "2.0"))
        assert doc["state"] == "rolled_back", doc
        assert "piclient-agent.service" in doc["reason"]
        assert "restored from the copy taken before the update" in doc["log_tail"]
        assert "progress: 2" in doc["state_db"]  # spring-day moved on, trial-film is new
        # The image's launcher is back, answering, and reads what she watched during the trial.
        answer = wait_until(lambda: units.launcher_status() if units.running_version() == "1.0" else None, 30,
                            "version 1.0 answering again")
        assert answer["progress"] == {"spring-day": 1500.0, "old-film": 300.0, "trial-film": 600.0}
    finally:
        units.stop()
    assert _progress(db) == {"spring-day": 1500.0, "old-film": 300.0, "trial-film": 600.0}
    copy = sqlite3.connect(layout.backups / "state-factory.db")
    live = sqlite3.connect(db)
    try:
        assert state_backup.schema_of(live) == state_backup.schema_of(copy)  # the old version's schema again
        assert live.execute("SELECT value FROM kv WHERE key = 'subtitle_delay:trial-film'").fetchone() == ("0.5",)
    finally:
        copy.close()
        live.close()
    assert not db.with_name("state.db.restoring").exists()


def test_a_rollback_without_a_migration_keeps_the_database_as_it_is(tmp_path: Path) -> None:
    db, copy = tmp_path / "state.db", tmp_path / "backups" / "state-1.0.db"
    _her_state(db)
    state_backup.keep_copy(db, copy)
    store = StateStore(db)
    store.save_progress("spring-day", 2000.0, 5400.0)
    store.close()
    inode = db.stat().st_ino
    assert not state_backup.restore_for_rollback(db, copy).restored
    assert db.stat().st_ino == inode and _progress(db)["spring-day"] == 2000.0


def test_a_table_the_trial_emptied_of_a_needed_column_keeps_the_copys_rows_and_says_so(tmp_path: Path) -> None:
    db, copy = tmp_path / "state.db", tmp_path / "backups" / "state-1.0.db"
    _her_state(db)
    state_backup.keep_copy(db, copy)
    trial = sqlite3.connect(db)
    trial.executescript("ALTER TABLE progress RENAME COLUMN position TO position_ms;"
                        "UPDATE progress SET position_ms = position_ms * 1000;"
                        "INSERT INTO kv VALUES ('subtitle_delay:spring-day', '0.5');")
    trial.close()
    result = state_backup.restore_for_rollback(db, copy)
    assert result.restored and "position" in result.not_carried["progress"]
    assert result.carried["kv"] >= 1
    assert _progress(db) == {"spring-day": 1234.0, "old-film": 300.0}  # the copy's, not milliseconds
    assert StateStore(db).get("subtitle_delay:spring-day") == "0.5"


def test_a_trial_database_sqlite_cannot_read_is_replaced_by_the_copy(tmp_path: Path) -> None:
    db, copy = tmp_path / "state.db", tmp_path / "backups" / "state-1.0.db"
    _her_state(db)
    state_backup.keep_copy(db, copy)
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database at all" * 100)
    result = state_backup.restore_for_rollback(db, copy)
    assert result.restored and result.not_carried
    assert _progress(db) == {"spring-day": 1234.0, "old-film": 300.0}


def test_a_rollback_cut_short_after_a_migration_mends_the_database_before_the_old_version_starts(
        layout: Layout, tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    _her_state(db)
    killed_at(layout, tmp_path, "rollback:rollback-decided", "tv-crashes", state_db=db)
    # What the trial's launcher did before the decision: the migration, and a minute of the film.
    trial = sqlite3.connect(db)
    trial.executescript(MIGRATION)
    trial.execute("UPDATE progress SET position = 1500, updated_at = ? WHERE id = 'spring-day'", (BEFORE + 60,))
    trial.commit()
    trial.close()
    units = ProcessUnits(layout, tmp_path / "run", state_db=db)
    updater = Updater(layout, units, limits=LIMITS, state_db=db)
    # The boot's recovery, before the units: the image's launcher must not meet the migrated file.
    assert updater.recover() == layout.factory
    copy, live = sqlite3.connect(layout.backups / "state-factory.db"), sqlite3.connect(db)
    try:
        assert state_backup.schema_of(live) == state_backup.schema_of(copy)  # the old version's schema again
    finally:
        copy.close()
        live.close()
    assert _progress(db) == {"spring-day": 1500.0, "old-film": 300.0}
    units.start()
    try:
        answer = wait_until(lambda: units.launcher_status() if units.running_version() == "1.0" else None, 30,
                            "version 1.0 answering")
        assert answer["progress"] == {"spring-day": 1500.0, "old-film": 300.0}
        doc = updater.run()
        assert doc is not None and doc["state"] == "rolled_back" and doc["running"] == "factory", doc
        assert "restored from the copy taken before the update" in doc["log_tail"]
        assert "progress: 1" in doc["state_db"]  # spring-day moved on during the trial
        assert units.restarts()["piclient-tv.service"] == 0  # the old launcher never died on the file
    finally:
        units.stop()
