"""The spool keeps every record once, in a sensible order, within its bounds, across restarts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from piclient.agent.spool import Spool

BODY = b"x" * 1000


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def spool(tmp_path: Path, max_bytes: int = 10_000_000, max_age_s: float = 3600, clock: Clock | None = None) -> Spool:
    return Spool(tmp_path / "spool.db", max_bytes, max_age_s, clock=clock or Clock())


def test_a_record_put_twice_is_kept_once(tmp_path: Path) -> None:
    s = spool(tmp_path)
    assert s.put("a", "heartbeat", "POST", "/api/v1/heartbeat", BODY)
    assert not s.put("a", "heartbeat", "POST", "/api/v1/heartbeat", BODY)
    assert s.stats()["pending"] == 1


def test_records_survive_closing_and_opening_again(tmp_path: Path) -> None:
    s = spool(tmp_path)
    s.put("shot", "screenshot", "POST", "/api/v1/screenshots", b"\xff\xd8jpeg", content_type="image/jpeg",
          headers={"X-Reason": "schedule"})
    s.close()
    record = spool(tmp_path).next_record()
    assert record is not None
    assert (record.id, record.kind, record.body, record.content_type) == ("shot", "screenshot", b"\xff\xd8jpeg",
                                                                          "image/jpeg")
    assert record.headers == {"X-Reason": "schedule"}


def test_results_go_first_then_the_newest_heartbeat_then_the_rest_oldest_first(tmp_path: Path) -> None:
    s = spool(tmp_path)
    for ident, kind in [("hb1", "heartbeat"), ("shot1", "screenshot"), ("hb2", "heartbeat"), ("res", "result"),
                        ("prog", "progress")]:
        s.put(ident, kind, "POST", "/x", BODY)
    order = []
    while (record := s.next_record()) is not None:
        order.append(record.id)
        s.delete(record.id)
    assert order == ["res", "hb2", "hb1", "shot1", "prog"]


def test_a_full_spool_drops_the_oldest_heartbeats_and_screenshots_and_counts_them(tmp_path: Path) -> None:
    s = spool(tmp_path, max_bytes=6 * 1300)
    s.put("result", "result", "POST", "/r", BODY)
    for n in range(10):
        s.put(f"hb{n}", "heartbeat", "POST", "/api/v1/heartbeat", BODY)
    stats = s.stats()
    assert stats["bytes"] <= 6 * 1300
    assert stats["dropped"] == 10 - (stats["pending"] - 1)
    kept = []
    while (record := s.next_record()) is not None:
        kept.append(record.id)
        s.delete(record.id)
    # The command result is small and precious: it stays while there are heartbeats to drop.
    assert kept[0] == "result"
    assert sorted(kept[1:]) == [f"hb{n}" for n in range(10 - stats["dropped"], 10)]


def test_records_older_than_the_age_bound_are_dropped_and_counted(tmp_path: Path) -> None:
    clock = Clock()
    s = spool(tmp_path, max_age_s=3600, clock=clock)
    s.put("old", "heartbeat", "POST", "/x", BODY)
    clock.now += 1800
    s.put("newer", "heartbeat", "POST", "/x", BODY)
    clock.now += 2000
    record = s.next_record()
    assert record is not None and record.id == "newer"
    assert s.stats() == {"pending": 1, "bytes": s.stats()["bytes"], "dropped": 1}


def test_marks_are_written_with_their_record(tmp_path: Path) -> None:
    s = spool(tmp_path)
    s.put("p1", "progress", "POST", "/api/v1/progress", b"{}", marks={"progress:film-1": 12.5})
    assert s.marks("progress:") == {"film-1": 12.5}
    assert s.marks("other:") == {}


def test_a_command_is_begun_once_and_its_result_is_remembered(tmp_path: Path) -> None:
    s = spool(tmp_path)
    assert s.begin_command("c1", "key")
    assert not s.begin_command("c1", "key")
    assert s.unfinished_commands() == [("c1", "key")]
    s.finish_command("c1", {"ok": True, "result": {}, "error": None})
    s.close()
    again = spool(tmp_path)
    assert not again.begin_command("c1", "key")
    assert again.command_result("c1") == {"ok": True, "result": {}, "error": None}
    assert again.unfinished_commands() == []


def test_a_damaged_spool_file_is_moved_aside_and_a_fresh_one_started(tmp_path: Path) -> None:
    (tmp_path / "spool.db").write_bytes(b"this is not a database" * 100)
    s = spool(tmp_path)
    assert s.stats()["pending"] == 0
    assert s.put("a", "heartbeat", "POST", "/x", BODY)
    assert list(tmp_path.glob("spool.db.broken-*"))


def test_the_spool_is_sqlite_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    s = spool(tmp_path)
    s.put("a", "heartbeat", "POST", "/x", BODY)
    db = sqlite3.connect(tmp_path / "spool.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    assert s._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_the_spool_and_the_viewers_state_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    import os
    import stat

    from piclient.state import StateStore

    old = tmp_path / "old.db"
    sqlite3.connect(old).execute("CREATE TABLE x (y)").connection.close()
    os.chmod(old, 0o644)  # as earlier versions left it
    s = Spool(old, 10_000_000, 3600, clock=Clock())
    s.put("a", "heartbeat", "POST", "/api/v1/heartbeat", BODY)
    state = StateStore(tmp_path / "state.db")
    state.save_progress("spring-day", 754, 5400)
    files = [p for p in tmp_path.iterdir() if p.name.startswith(("old.db", "state.db"))]
    assert {p.name for p in files} >= {"old.db", "old.db-wal", "state.db", "state.db-wal"}
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {p.name: "0o600" for p in files}
    s.close()
    state.close()
