"""A packaging worker: claims publish jobs from the database and runs the publish pipeline on them.

``piclient server worker`` runs one on its own; ``piclient server`` runs one in a thread when it has a
``--library``. With ``--inbox DIR`` the worker also watches a folder: a film dropped there (Samba, a USB
disk, scp) is queued once its size and modification time have stayed the same for ``STABLE_S``
seconds, so a copy still in progress is never packaged; subtitle files named after it go with it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from piclient.publish.errors import PublishError
from piclient.server import jobs
from piclient.server.commands import queue_command
from piclient.server.db import Database
from piclient.server.schema import devices
from piclient.server.uploads import SUBTITLE_EXTENSIONS

log = logging.getLogger(__name__)

REPORT_EVERY_S = 2.0
IDLE_S = 3.0
STABLE_S = 30.0
FILM_EXTENSIONS = (".mkv", ".mp4", ".m4v", ".avi", ".mov", ".ts", ".m2ts", ".wmv", ".mpg", ".mpeg", ".webm")


class LeaseLost(Exception):
    """Another worker took this job over (ours was presumed dead): stop without writing anything."""


class Stopping(Exception):
    """The worker is asked to stop: ffmpeg is ended and the job goes back to the queue."""


class Worker:
    def __init__(self, db: Database, library: Path, data_dir: Path, *, inbox: Path | None = None,
                 inbox_settle_s: float = STABLE_S, name: str | None = None, clock: Callable[[], float] = time.time,
                 check_playback: bool = True) -> None:
        self.db = db
        self.library = library
        self.data_dir = data_dir
        self.inbox = Inbox(inbox, data_dir, clock, inbox_settle_s) if inbox else None
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self) % 10000}"
        self.clock = clock
        self.check_playback = check_playback

    def run(self, stop: threading.Event, idle_s: float = IDLE_S) -> None:
        """Work until ``stop`` is set: the inbox, then one job, again; wait only when there is nothing."""
        while not stop.is_set():
            busy = False
            try:
                if self.inbox is not None:
                    self.inbox.scan(self.db)
                busy = self.run_once(stop)
            except Exception:  # one bad round must not end the worker; the job itself is marked failed
                log.exception("publish worker round failed")
            if not busy:
                stop.wait(idle_s)

    def run_once(self, stop: threading.Event | None = None) -> bool:
        """Claim and run one job; False when the queue is empty. ``stop`` ends the job early (it is
        queued again, and its finished rungs are kept for whoever takes it next)."""
        if not self.db.read_sync(jobs.has_work, self.clock()):
            return False
        job = self.db.write_sync(jobs.claim, self.name, self.clock())
        if job is None:
            return False
        log.info("packaging job %s: %s", job.id, job.film)
        last = [0.0]

        def progress(stage: str, fraction: float) -> None:
            if stop is not None and stop.is_set():
                raise Stopping
            now = self.clock()
            if now - last[0] < REPORT_EVERY_S and fraction < 1.0:
                return
            last[0] = now
            if not self.db.write_sync(jobs.report, job.id, self.name, stage, fraction, now):
                raise LeaseLost

        try:
            result = self._publish(job, progress)
        except Stopping:
            self.db.write_sync(jobs.release, job.id, self.name, self.clock())
            log.info("job %s queued again: the worker is stopping", job.id)
            return False
        except LeaseLost:
            log.warning("job %s was taken over by another worker; stopped", job.id)
            return True
        except PublishError as exc:
            self.db.write_sync(jobs.finish, job.id, self.name, self.clock(), error=str(exc), detail=exc.detail)
            return True
        except Exception as exc:
            log.exception("job %s failed", job.id)
            self.db.write_sync(jobs.finish, job.id, self.name, self.clock(),
                               error="packaging failed unexpectedly", detail=repr(exc))
            return True
        self.db.write_sync(jobs.finish, job.id, self.name, self.clock(), result=result)
        self.db.write_sync(tell_boxes, self.clock())
        self._drop_sources([job.film, *job.options.get("subtitles", [])])
        return True

    def _drop_sources(self, paths: list[str]) -> None:
        """An uploaded or inbox source is tens of GB that the library no longer needs once packaged."""
        incoming = (self.data_dir / "incoming").resolve()
        for path in paths:
            folder = Path(path).resolve().parent
            if folder.parent == incoming:
                shutil.rmtree(folder, ignore_errors=True)

    def _publish(self, job: jobs.Job, progress: Callable[[str, float], None]) -> dict[str, Any]:
        from piclient.publish.pipeline import Request, publish

        o = job.options
        request = Request(
            film=Path(job.film), library=self.library, subtitles=tuple(Path(p) for p in o.get("subtitles", [])),
            subtitle_languages=tuple(o.get("subtitle_languages", [])),
            title_ko=o.get("title_ko", ""), title_en=o.get("title_en", ""),
            year=int(o["year"]) if o.get("year") else None, series=o.get("series", ""),
            season=int(o.get("season") or 1), episode=int(o["episode"]) if o.get("episode") else None,
            subtitle_offset=float(o.get("subtitle_offset") or 0), check_playback=self.check_playback,
            **({"preset": o["preset"]} if o.get("preset") else {}))
        result = publish(request, progress)
        return {"title_id": result.title_id, "id": result.playable_id, "rungs": result.rungs,
                "subtitles": result.subtitles, "warnings": result.warnings, "duration": result.duration}


def tell_boxes(conn: sa.Connection, now: float) -> int:
    """Ask every active box to fetch the catalog now (it rides on the box's next heartbeat reply),
    rather than at its next scheduled check up to a quarter of an hour later."""
    ids = conn.execute(sa.select(devices.c.id).where(devices.c.revoked_at.is_(None))).scalars().all()
    for device_id in ids:
        queue_command(conn, device_id, "reload", {}, now)
    return len(ids)


class Inbox:
    """A folder watched for finished copies. What is seen is remembered with its size and mtime; a
    file is taken once both held still for ``STABLE_S`` (by ``clock``)."""

    def __init__(self, folder: Path, data_dir: Path, clock: Callable[[], float], stable_s: float = STABLE_S) -> None:
        self.folder = folder
        self.data_dir = data_dir
        self.clock = clock
        self.stable_s = stable_s
        self._seen: dict[str, tuple[int, int, float]] = {}  # name -> size, mtime_ns, first seen unchanged

    def _stable(self, path: Path, now: float) -> bool:
        try:
            st = path.stat()
        except OSError:
            return False
        key = (st.st_size, st.st_mtime_ns)
        seen = self._seen.get(path.name)
        if seen is None or seen[:2] != key:
            self._seen[path.name] = (*key, now)
            return False
        return st.st_size > 0 and now - seen[2] >= self.stable_s

    def scan(self, db: Database) -> list[int]:
        now = self.clock()
        try:
            entries = sorted(p for p in self.folder.iterdir() if p.is_file() and not p.name.startswith("."))
        except OSError as exc:
            log.warning("inbox %s cannot be read: %s", self.folder, exc)
            return []
        queued = []
        names = {p.name for p in entries}
        self._seen = {k: v for k, v in self._seen.items() if k in names}
        for film in entries:
            if not film.name.lower().endswith(FILM_EXTENSIONS):
                continue
            # "Film.mkv" takes "Film.srt", "Film.ko.srt" and "Film.en.smi".
            subs = [p for p in entries if p.name.lower().endswith(SUBTITLE_EXTENSIONS)
                    and p.name.startswith(film.stem + ".")]
            if not all(self._stable(p, now) for p in (film, *subs)):
                continue
            target = self.data_dir / "incoming" / f"inbox-{int(now * 1000)}-{len(queued)}"
            target.mkdir(parents=True)
            moved = []
            for path in (film, *subs):
                os.replace(path, target / path.name)
                moved.append(str(target / path.name))
                self._seen.pop(path.name, None)
            options = {"subtitles": moved[1:], **_names_from_file(film.stem)}
            queued.append(db.write_sync(jobs.enqueue, moved[0], options, now))
            log.info("inbox: queued %s with %d subtitle file(s)", film.name, len(subs))
        return queued


_EPISODE = re.compile(r"^(?P<series>.+?)[ ._-]+[Ss](?P<season>\d{1,2})[Ee](?P<episode>\d{1,3})\b")
_YEAR = re.compile(r"^(?P<title>.+?)[ ._(\[-]+(?P<year>(?:19|20)\d\d)\b")


def _names_from_file(stem: str) -> dict[str, Any]:
    """``Winter.Sonata.S01E02`` is an episode; ``Spring Day (2001)`` a film of 2001."""
    episode = _EPISODE.match(stem)
    if episode:
        return {"series": _words(episode["series"]), "season": int(episode["season"]),
                "episode": int(episode["episode"])}
    year = _YEAR.match(stem)
    if year:
        return {"title_en": _words(year["title"]), "year": int(year["year"])}
    return {"title_en": _words(stem)}


def _words(text: str) -> str:
    return " ".join(re.sub(r"[._]+", " ", text).split())
