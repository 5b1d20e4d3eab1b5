"""Her state database across an update: a copy before each switch, and at a rollback, the copy back
with everything she did during the trial carried into it (docs/updates.md, "Her progress").

A new version may migrate ``state.db`` to a schema the version it rolls back to cannot use (a new key,
a new NOT NULL column, a rebuilt table). At a rollback, when the live database's schema is no longer
the one the copy was taken with, the copy is taken as the base again (the old version's own schema,
which it knows how to read and write) and each of its tables gets the rows of the same-named table in
the live database, column by column by name: a row with ``updated_at`` only where it is newer than
the copy's, any other row as the trial left it. A table whose rows cannot be carried (a column the
old version needs is gone) keeps the copy's rows and is named in the result; nothing else is lost.

The merged file is written beside the database, fsynced, and renamed over it after the live
database's WAL was checkpointed into it and removed: a power cut at any point leaves either the
trial's database or the merged one, each whole. The launcher and the agent must be stopped while
this runs: they are the database's only writers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from piclient.fsutil import fsync_dir

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 10


@dataclass
class Restored:
    """What a rollback did to the state database."""
    restored: bool                    # the copy was put back (the trial had changed the schema)
    carried: dict[str, int] = field(default_factory=dict)      # table -> rows taken from the trial
    not_carried: dict[str, str] = field(default_factory=dict)  # table -> why its trial rows were left

    def summary(self) -> str:
        if not self.restored:
            return "the state database was kept as the trial left it (same schema)"
        parts = [f"{table}: {n}" for table, n in sorted(self.carried.items())]
        text = "the state database was restored from the copy taken before the update; rows carried from the trial: "
        text += ", ".join(parts) or "none"
        if self.not_carried:
            text += "; not carried: " + "; ".join(f"{t} ({why})" for t, why in sorted(self.not_carried.items()))
        return text


def backup_path(backups: Path, version: str) -> Path:
    return backups / f"state-{version}.db"


def keep_copy(state_db: Path, copy: Path) -> None:
    """A consistent copy of ``state_db`` (SQLite's backup API, safe while others write)."""
    copy.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{state_db}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    try:
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()
    with copy.open("rb") as handle:
        os.fsync(handle.fileno())


def schema_of(db: sqlite3.Connection, schema: str = "main") -> tuple[int, list[tuple[str, str, str]]]:
    """``user_version`` and every table's, index's and trigger's SQL: what a reader depends on."""
    version = db.execute(f"PRAGMA {schema}.user_version").fetchone()[0]
    rows = db.execute(f"SELECT type, name, coalesce(sql, '') FROM {schema}.sqlite_master "
                      "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").fetchall()
    return version, [tuple(row) for row in rows]


def restore_for_rollback(state_db: Path, copy: Path) -> Restored:
    """Put ``copy`` back under ``state_db`` when the trial changed the schema, carrying the trial's rows."""
    if not copy.exists() or not state_db.exists():
        return Restored(False)
    _checkpoint(state_db)
    live = sqlite3.connect(f"file:{state_db}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    saved = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        try:
            same = schema_of(live) == schema_of(saved)
        except sqlite3.DatabaseError as exc:
            # The trial left a file SQLite cannot read: the copy is all there is.
            log.error("the state database is unreadable after the trial (%s); restoring the copy alone", exc)
            same = False
    finally:
        live.close()
        saved.close()
    if same:
        return Restored(False)
    merged = state_db.with_name(state_db.name + ".restoring")
    _remove(merged)
    result = _merge(copy, state_db, merged)
    stat = state_db.stat()
    with contextlib.suppress(PermissionError):  # the updater is root; the launcher and agent are not
        os.chown(merged, stat.st_uid, stat.st_gid)
    os.chmod(merged, stat.st_mode & 0o777)
    with merged.open("rb") as handle:
        os.fsync(handle.fileno())
    # The live WAL was checkpointed into the file above; left beside the merged file it would be
    # replayed into it, so it goes first.
    for suffix in ("-wal", "-shm"):
        _remove(state_db.with_name(state_db.name + suffix))
    os.replace(merged, state_db)
    fsync_dir(state_db.parent)
    log.warning("%s", result.summary())
    return result


def _checkpoint(state_db: Path) -> None:
    with contextlib.suppress(sqlite3.DatabaseError):
        db = sqlite3.connect(state_db, timeout=BUSY_TIMEOUT_S)
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()


def _merge(copy: Path, state_db: Path, merged: Path) -> Restored:
    base = sqlite3.connect(copy)
    out = sqlite3.connect(merged, isolation_level=None)
    try:
        base.backup(out)
    finally:
        base.close()
    result = Restored(True)
    try:
        out.execute("PRAGMA journal_mode=DELETE")  # one self-contained file to rename into place
        try:
            out.execute("ATTACH DATABASE ? AS trial", (f"file:{state_db}?mode=ro",))
        except sqlite3.DatabaseError as exc:
            result.not_carried["*"] = f"the trial's database is unreadable: {exc}"
            return result
        tables = [row[0] for row in out.execute(
            "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        for table in tables:
            try:
                _carry(out, table, result)
            except sqlite3.DatabaseError as exc:  # the trial's file is damaged: its rows stay behind
                result.not_carried[table] = str(exc)
        out.execute("DETACH DATABASE trial")
    finally:
        out.close()
    return result


def _columns(db: sqlite3.Connection, schema: str, table: str) -> list[tuple[str, bool, bool]]:
    """(name, required, in the primary key) of each column: required is NOT NULL without a default."""
    rows = db.execute(f'PRAGMA {schema}.table_info("{_quoted(table)}")').fetchall()
    return [(row[1], bool(row[3]) and row[4] is None and not row[5], bool(row[5])) for row in rows]


def _carry(out: sqlite3.Connection, table: str, result: Restored) -> None:
    theirs = {name for name, _, _ in _columns(out, "trial", table)}
    if not theirs:
        result.not_carried[table] = "the trial has no such table"
        return
    ours = _columns(out, "main", table)
    missing = [name for name, required, _ in ours if required and name not in theirs]
    if missing:
        result.not_carried[table] = f"the trial has no {', '.join(missing)}"
        return
    common = [name for name, _, _ in ours if name in theirs]
    cols = ", ".join(f'"{_quoted(c)}"' for c in common)
    source = f'SELECT {cols} FROM trial."{_quoted(table)}"'
    if "updated_at" in common:
        # Oldest first, each only where newer: the newest of several trial rows that now map to one
        # row of the old key (a key the trial had widened) is the one that stays.
        keys = [name for name, _, pk in ours if pk]
        sets = ", ".join(f'"{_quoted(c)}" = excluded."{_quoted(c)}"' for c in common if c not in keys)
        sql = (f'INSERT INTO main."{_quoted(table)}" ({cols}) {source} WHERE true ORDER BY "updated_at" '
               f'ON CONFLICT DO UPDATE SET {sets} WHERE excluded."updated_at" > "{_quoted(table)}"."updated_at"')
    else:
        sql = f'INSERT OR REPLACE INTO main."{_quoted(table)}" ({cols}) {source}'
    try:
        out.execute("BEGIN")
        before = out.total_changes
        out.execute(sql)
        carried = out.total_changes - before
        out.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        out.execute("ROLLBACK")
        result.not_carried[table] = str(exc)
        return
    result.carried[table] = carried


def _quoted(name: str) -> str:
    return name.replace('"', '""')


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
