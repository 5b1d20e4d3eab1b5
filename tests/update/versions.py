"""Tiny but real versions to update between: a wheel of a one-module package whose ``piclient`` command
behaves as a good or a broken release would. Built as real wheels, installed by the real pip."""

from __future__ import annotations

import base64
import hashlib
import sys
import zipfile
from pathlib import Path

from piclient.update import bundle

# A real migration of piclient's state database (piclient/state.py's schema) to one the image's
# version cannot use: progress and settings get a viewer profile in their keys, so the old version's
# "ON CONFLICT(key)" and "ON CONFLICT(id)" writes fail. One transaction, as a real migration is.
MIGRATION = """
BEGIN;
CREATE TABLE progress_v2 (profile TEXT NOT NULL, id TEXT NOT NULL, position REAL NOT NULL,
    duration REAL NOT NULL, watched INTEGER NOT NULL DEFAULT 0, updated_at REAL NOT NULL,
    PRIMARY KEY (profile, id));
INSERT INTO progress_v2 SELECT 'mother', id, position, duration, watched, updated_at FROM progress;
DROP TABLE progress;
ALTER TABLE progress_v2 RENAME TO progress;
CREATE TABLE kv_v2 (profile TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (profile, key));
INSERT INTO kv_v2 SELECT 'mother', key, value FROM kv;
DROP TABLE kv;
ALTER TABLE kv_v2 RENAME TO kv;
PRAGMA user_version = 2;
COMMIT;
"""

# The fake launcher speaks the control socket's wire format (one JSON line each way) and answers
# only after its "first frame", as the real one does; the fake agent writes the same proof-of-life
# file piclient.update.alive writes. With PICLIENT_TEST_STATE the launcher also uses her state
# database as piclient/state.py does (the old schema), or, as "migrates-*", migrates it and records
# the minutes she watches during the trial in the new schema.
MODULE = '''
import json, os, signal, socket, sqlite3, sys, time

VERSION = {version!r}
BEHAVIOUR = {behaviour!r}
MIGRATION = {migration!r}


def state():
    path = os.environ.get("PICLIENT_TEST_STATE")
    if not path:
        return None
    db = sqlite3.connect(path, isolation_level=None, timeout=10)
    db.execute("PRAGMA journal_mode=WAL")
    if BEHAVIOUR.startswith("migrates"):
        if db.execute("PRAGMA user_version").fetchone()[0] < 2:
            db.executescript(MIGRATION)
        now = time.time()
        for ident, position in (("spring-day", 1500.0), ("trial-film", 600.0)):
            db.execute("INSERT INTO progress VALUES ('mother', ?, ?, 5400, 0, ?) ON CONFLICT(profile, id) "
                       "DO UPDATE SET position=excluded.position, updated_at=excluded.updated_at",
                       (ident, position, now))
        # Her subtitle fix for the film she started during the trial (a setting, per title).
        db.execute("INSERT OR REPLACE INTO kv VALUES ('mother', 'subtitle_delay:trial-film', '0.5')")
        return db
    # piclient/state.py of the image's version: its schema, and a session stamp at start.
    db.executescript("CREATE TABLE IF NOT EXISTS progress (id TEXT PRIMARY KEY, position REAL NOT NULL, "
                     "duration REAL NOT NULL, watched INTEGER NOT NULL DEFAULT 0, updated_at REAL NOT NULL);"
                     "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);")
    db.execute("INSERT INTO kv (key, value) VALUES ('session_started', ?) "
               "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (repr(time.time()),))
    return db


def progress_of(db):
    if db is None:
        return None
    return dict(db.execute("SELECT id, position FROM progress").fetchall())


def tv():
    print(f"tinybox {{VERSION}} launcher starting", flush=True)
    if BEHAVIOUR == "tv-crashes":
        raise RuntimeError("the launcher crashed at start (test)")
    if BEHAVIOUR == "tv-hangs":
        while True:
            time.sleep(1)
    db = state()
    path = os.environ["PICLIENT_TEST_SOCKET"]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    while True:
        conn, _ = server.accept()
        with conn:
            conn.makefile("rb").readline()
            answer = {{"ok": True, "version": VERSION, "progress": progress_of(db)}}
            conn.sendall(json.dumps(answer).encode() + b"\\n")


def agent():
    print(f"tinybox {{VERSION}} agent starting", flush=True)
    if BEHAVIOUR == "agent-crashes":
        raise RuntimeError("the agent crashed at start (test)")
    if BEHAVIOUR == "migrates-agent-crashes":
        # Only once the launcher has migrated and she has watched a little: the rollback must
        # find the trial's rows in the new schema.
        path = os.environ["PICLIENT_TEST_STATE"]
        while True:
            try:
                db = sqlite3.connect(f"file:{{path}}?mode=ro", uri=True, timeout=10)
                if db.execute("SELECT count(*) FROM progress WHERE id = 'trial-film'").fetchone()[0]:
                    break
            except sqlite3.Error:
                pass
            time.sleep(0.1)
        raise RuntimeError("the agent crashed after the launcher migrated (test)")
    alive = os.environ["PICLIENT_TEST_ALIVE"]
    os.makedirs(alive, exist_ok=True)
    while True:
        tmp = os.path.join(alive, f".{{VERSION}}.tmp")
        with open(tmp, "w") as handle:
            json.dump({{"version": VERSION, "at": time.time(), "tv_running": True}}, handle)
        os.replace(tmp, os.path.join(alive, f"{{VERSION}}.json"))
        time.sleep(0.2)


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    {{"tv": tv, "agent": agent}}[sys.argv[1]]()
'''


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(out_dir: Path, version: str, behaviour: str = "good") -> Path:
    dist = f"tinybox-{version}.dist-info"
    files = {
        "tinybox/__init__.py": MODULE.format(version=version, behaviour=behaviour, migration=MIGRATION).encode(),
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: tinybox\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist}/entry_points.txt": b"[console_scripts]\npiclient = tinybox:main\n",
    }
    record = [_record_line(name, data) for name, data in files.items()] + [f"{dist}/RECORD,,"]
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / f"tinybox-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


def build_bundle(out_dir: Path, version: str, behaviour: str = "good") -> tuple[Path, str]:
    wheel = build_wheel(out_dir / f"wheels-{version}", version, behaviour)
    path = out_dir / f"tinybox-{version}.bundle"
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    bundle.build([wheel], path, version=version, requirement=f"tinybox=={version}", python=python,
                 platform_tag="any")
    return path, bundle.sha256_file(path)
