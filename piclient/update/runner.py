"""The updater: one request from the agent, carried from verify to kept or rolled back.

Runs from the image's own install (``piclient-update.service``, started by a path unit when the
agent writes ``request.json``, and once at every boot). Each step can be repeated: after a power cut
the boot run mends the links (``switch.recover``) and takes the request up again; a version that was
being tried when the box went down counts one attempt, and past ``MAX_ATTEMPTS`` it is rolled back
without another try (boot counting, as RAUC and balena do). The decision to roll back is written
down (``rolling_back``, fsynced) before anything is undone, so that a power cut during the rollback
finishes the rollback at the next boot instead of trying the bad version again.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from piclient.fsutil import fsync_dir
from piclient.update import bundle, health, install, signing, state_backup, status, switch
from piclient.update.layout import COMPLETE, Layout
from piclient.update.units import Units

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2


@dataclass(frozen=True)
class Request:
    """What the agent hands over: a downloaded bundle and what the server said about it."""
    bundle: Path
    sha256: str
    version: str
    signature: str = ""

    @classmethod
    def load(cls, path: Path) -> Request | None:
        try:
            doc: Any = json.loads(path.read_text("utf-8"))
            return cls(Path(doc["bundle"]), str(doc["sha256"]), str(doc["version"]), str(doc.get("signature") or ""))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def to_json(self) -> str:
        return json.dumps({"bundle": str(self.bundle), "sha256": self.sha256, "version": self.version,
                           "signature": self.signature})


@dataclass
class Updater:
    layout: Layout
    units: Units
    public_key: str | None = None          # base64 Ed25519; None: the hash alone is checked
    limits: health.Limits = field(default_factory=health.Limits)
    state_db: Path | None = None           # her watch progress: copied before each switch, mended at a rollback
    hook: Callable[[str], None] = lambda step: None
    python: str | None = None

    def boot(self) -> dict[str, Any] | None:
        """At boot: mend the links before the units start, then finish whatever was under way."""
        self.recover()
        return self.run()

    def recover(self) -> Path:
        """At boot, before the units (``piclient update recover``): mend the links, and when a rollback
        was decided but not finished, switch back now, so the units never start the judged version.

        Nothing is running yet, so the state database is mended without stopping the units (a stop
        job at this point of the boot would cancel the units' start). Returns what the units will start.
        """
        running = switch.recover(self.layout)
        doc = status.read(self.layout.status) or {}
        if doc.get("state") != "rolling_back":
            return running
        target = self._rollback_target(doc)
        if running != target:
            log.warning("a rollback of %s was under way; switching back to %s before the units start",
                        doc.get("version"), self.layout.version_of(target))
            restored = self._restore_state(str(doc.get("from_version") or "factory"), stop_units=False)
            if restored is not None and restored.restored:
                # Kept with the decision, so that the dashboard still says what was done to her data.
                kept = {key: value for key, value in doc.items() if key not in ("state", "version", "at")}
                kept["log_tail"] = f"{doc.get('log_tail') or ''}\nupdater: {restored.summary()}"
                kept["state_db"] = restored.summary()
                doc = status.write(self.layout.status, "rolling_back", str(doc.get("version")), **kept)
            switch.switch_to(self.layout, target)
        return target

    def run(self) -> dict[str, Any] | None:
        request = Request.load(self.layout.request)
        if request is None:
            if self.layout.request.exists():
                log.warning("request.json is unreadable; ignoring it")
                self.layout.request.unlink()
            return None
        return self.apply(request)

    # -- the steps --------------------------------------------------------------------------------

    def apply(self, request: Request) -> dict[str, Any]:
        layout = self.layout
        before = layout.running_venv()
        previous_status = status.read(layout.status) or {}
        if previous_status.get("version") == request.version:
            state = previous_status.get("state")
            if state == "trying":
                return self._resume_trial(request, previous_status)
            if state == "rolling_back":
                return self._finish_roll_back(request, previous_status)
            if state == "rolled_back":
                # A request the rollback did not get to remove: the agent writes "downloading" before
                # it hands over a version offered again, so this one is a leftover, not an offer.
                self._finish(request)
                self._forget_failed(request.version)
                return previous_status
        status.write(layout.status, "installing", request.version, from_version=layout.version_of(before))
        try:
            if self.public_key:
                signing.verify(self.public_key, request.sha256, request.signature)
            manifest = bundle.verify(request.bundle, request.sha256)
            if manifest.version != request.version:
                raise bundle.BadBundle(f"the bundle holds version {manifest.version}, not {request.version}")
            kwargs = {"python": self.python} if self.python else {}
            target = install.install(layout, request.bundle, manifest, hook=self.hook, **kwargs)
        except (bundle.BadBundle, signing.BadSignature, install.InstallError) as exc:
            log.error("update to %s refused: %s", request.version, exc)
            self._finish(request)
            return status.write(layout.status, "failed", request.version, reason=str(exc),
                                log_tail=getattr(exc, "output", "") or None,
                                from_version=layout.version_of(before))
        self.hook("installed")
        if target == before:
            self._finish(request)
            return status.write(layout.status, "kept", request.version, from_version=layout.version_of(before))
        self._keep_state_copy(before)
        since = time.time()
        # Where to go back to is written down before the switch: the previous link cannot say it once
        # an interrupted switch back has already rewritten it.
        status.write(layout.status, "trying", request.version, from_version=layout.version_of(before),
                     attempts=1, since=since, back_to=str(before))
        switch.switch_to(layout, target, self.hook)
        self.units.restart()
        self.hook("restarted")
        return self._judge(request, layout.version_of(before), since, before)

    def _resume_trial(self, request: Request, doc: dict[str, Any]) -> dict[str, Any]:
        attempts = int(doc.get("attempts") or 1) + 1
        from_version = str(doc.get("from_version") or "factory")
        back_to = Path(str(doc.get("back_to") or self.layout.factory))
        current = self.layout.link_target(self.layout.current)
        if current is None or current.name != request.version:
            # The switch never happened (or was mended back): nothing is being tried; start over.
            status.write(self.layout.status, "installing", request.version, from_version=from_version)
            return self.apply(request)
        if attempts > MAX_ATTEMPTS:
            return self._roll_back(request, from_version, time.time(),
                                   f"the box went down {attempts - 1} times while trying this version", back_to)
        since = time.time()
        status.write(self.layout.status, "trying", request.version, from_version=from_version,
                     attempts=attempts, since=since, back_to=str(back_to))
        self.units.restart()
        return self._judge(request, from_version, since, back_to)

    def _judge(self, request: Request, from_version: str, since: float, back_to: Path) -> dict[str, Any]:
        verdict = health.watch(self.units, self.layout.alive, request.version, since, self.limits)
        if verdict.healthy:
            log.info("version %s is healthy; keeping it", request.version)
            self._finish(request)
            self._forget_old_versions()
            return status.write(self.layout.status, "kept", request.version, from_version=from_version)
        return self._roll_back(request, from_version, since, verdict.reason, back_to)

    def _roll_back(self, request: Request, from_version: str, since: float, reason: str,
                   back_to: Path) -> dict[str, Any]:
        log.error("version %s is not healthy (%s); going back to %s", request.version, reason, from_version)
        # The decision first, on disk, before anything is undone: from here on neither this process
        # nor the boot's recovery ever switches to this version again (only a new offer does).
        doc = status.write(self.layout.status, "rolling_back", request.version, reason=reason,
                           log_tail=self.units.log_tail(since), from_version=from_version, back_to=str(back_to))
        self.hook("rollback-decided")
        return self._finish_roll_back(request, doc)

    def _finish_roll_back(self, request: Request, decided: dict[str, Any]) -> dict[str, Any]:
        """Carry out a decided rollback; every step can be done again after a power cut."""
        from_version = str(decided.get("from_version") or "factory")
        previous = self._rollback_target(decided)
        if self.layout.link_target(self.layout.current) != previous:
            # Before the switch back, with nothing running: done again after a power cut, it finds the
            # schema already the copy's and leaves the file alone.
            restored = self._restore_state(from_version)
            switch.switch_to(self.layout, previous, self.hook)
        else:
            restored = None  # switched back already, so the state database was mended before that
        self.units.restart()
        tail = str(decided.get("log_tail") or "")
        if restored is not None and restored.restored:
            tail = f"{tail}\nupdater: {restored.summary()}"
        state_db = restored.summary() if restored is not None else decided.get("state_db")
        doc = status.write(self.layout.status, "rolled_back", request.version, reason=decided.get("reason"),
                           log_tail=tail or None, from_version=from_version,
                           running=self.layout.version_of(previous), state_db=state_db)
        self.hook("rolled-back")
        # The request goes only now: until "rolled_back" is on disk it is what restarts the updater.
        self._finish(request)
        self._forget_failed(request.version)
        return doc

    def _forget_failed(self, version: str) -> None:
        """The failed version goes, so that nothing (previous, recover) can ever fall back to it."""
        self.layout.previous.unlink(missing_ok=True)
        failed = self.layout.version_dir(version)
        if failed.is_dir() and self.layout.link_target(self.layout.current) != failed:
            _discard(failed)

    def _rollback_target(self, decided: dict[str, Any]) -> Path:
        back_to = Path(str(decided.get("back_to") or self.layout.factory))
        return back_to if self.layout.is_complete(back_to) else self.layout.factory

    # -- housekeeping -----------------------------------------------------------------------------

    def _finish(self, request: Request) -> None:
        # The request goes before the bundle: a power cut between them leaves a stray file, not a
        # request naming a bundle that is gone.
        self.layout.request.unlink(missing_ok=True)
        if request.bundle.parent == self.layout.incoming:
            request.bundle.unlink(missing_ok=True)

    def _keep_state_copy(self, before: Path) -> None:
        """Her progress as the old version left it, to put back if the new one changes its schema."""
        if self.state_db is None or not self.state_db.exists():
            return
        state_backup.keep_copy(self.state_db, state_backup.backup_path(self.layout.backups,
                                                                       self.layout.version_of(before)))

    def _restore_state(self, from_version: str, stop_units: bool = True) -> state_backup.Restored | None:
        if self.state_db is None:
            return None
        if stop_units:
            self.units.stop()
        copy = state_backup.backup_path(self.layout.backups, from_version)
        try:
            return state_backup.restore_for_rollback(self.state_db, copy)
        except (OSError, sqlite3.Error) as exc:
            # The rollback itself must go on: the old version may still read the trial's file.
            log.error("could not restore the state database from %s: %s", copy.name, exc)
            return None

    def _forget_old_versions(self) -> None:
        keep = {self.layout.link_target(self.layout.current), self.layout.link_target(self.layout.previous)}
        if not self.layout.versions.is_dir():
            return
        for entry in self.layout.versions.iterdir():
            if entry.is_dir() and entry not in keep:
                _discard(entry)


def _discard(venv: Path) -> None:
    """Remove an installed version: its marker first, so a power cut halfway leaves an incomplete
    folder (which recover removes), never a 'complete' one with files missing."""
    (venv / COMPLETE).unlink(missing_ok=True)
    fsync_dir(venv)
    shutil.rmtree(venv, ignore_errors=True)
