"""The catalog cache on the box's disk: written by the sync, read by the launcher.

The launcher never waits on the network; it draws whatever this cache holds. So the cache keeps the
last catalog that parsed, exactly as it was fetched, and posters already scaled to the sizes the
launcher draws. Every file is written atomically, and every reader tolerates a missing or damaged file
(a power cut, a full SD card): the worst case is "no catalog yet" or a placeholder poster, never a crash.

Layout under the data directory::

    catalog/catalog.raw      last good catalog document, byte for byte as fetched
    catalog/meta.json        CacheMeta: where it came from, validators, last error and its kind, skipped entries
    catalog/generation       a number that changes whenever a catalog or poster is stored
    posters/<key>.grid.jpg   poster at GRID_SIZE   (key = first 40 hex digits of sha256(url))
    posters/<key>.page.jpg   poster at PAGE_SIZE
    posters/<key>.bad        why this poster URL cannot be used (the launcher draws a placeholder)
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from piclient.catalog.model import Catalog, CatalogError, parse_catalog
from piclient.catalog.posters import SIZES
from piclient.fsutil import atomic_write

log = logging.getLogger(__name__)

MAX_REASON_CHARS = 500


class ErrorKind(enum.StrEnum):
    """Why the last check failed, in the few classes the viewer is told apart (one calm sentence each).

    The wording of ``last_error`` is for the maintainer and may change; the launcher picks its footer
    from this alone, so the viewer never sees a sentence that is not true of the failure.
    """

    NETWORK = "network"  # the source could not be reached: no route, no DNS, refused, timed out, cut off
    SERVER = "server"  # the server answered, but with an error (5xx, 404, 429...) or a bad TLS certificate
    SETUP = "setup"  # the server refuses this box (401/403), or the configured source cannot work
    BROKEN = "broken"  # a catalog arrived but cannot be used (does not parse, too large)
    MISSING = "missing"  # a local catalog file is not there, or the disk holding it cannot be read
    OTHER = "other"  # anything else, and errors recorded before kinds were (older meta files)

    @classmethod
    def parse(cls, value: object) -> ErrorKind:
        """A kind from meta.json; a missing or unknown one (another version wrote it) is OTHER."""
        try:
            return cls(value)
        except ValueError:
            return cls.OTHER


@dataclass
class CacheMeta:
    # The configured source this catalog came from (a path or an http(s) URL).
    source: str = ""
    # What relative URLs in the catalog resolve against: the final URL after redirects, or the
    # file:// URI of a local catalog.
    base_url: str = ""
    # Validators for the next conditional GET. For a local file, etag holds "file:<mtime_ns>:<size>".
    etag: str | None = None
    last_modified: str | None = None
    # When the source last answered with a usable catalog, new or unchanged (seconds since the epoch).
    fetched_at: float = 0.0
    # Why the last attempt failed; None after a successful one. The catalog shown is the last good one.
    last_error: str | None = None
    # Which ErrorKind that failure was; set exactly when last_error is.
    error_kind: ErrorKind | None = None
    # "where: reason" for every entry of the stored catalog that was left out.
    skipped: list[str] = field(default_factory=list)

    def failed(self, message: str, kind: ErrorKind) -> None:
        self.last_error = message
        self.error_kind = kind

    def succeeded(self) -> None:
        self.last_error = None
        self.error_kind = None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> CacheMeta:
        """Read what can be read; a damaged or partly wrong file gives defaults for the rest."""
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            return cls()
        if not isinstance(doc, dict):
            return cls()
        values: dict[str, Any] = {}
        for name in ("source", "base_url"):
            if isinstance(doc.get(name), str):
                values[name] = doc[name]
        for name in ("etag", "last_modified", "last_error"):
            if isinstance(doc.get(name), str):
                values[name] = doc[name]
        if "last_error" in values:
            # A meta.json from before error kinds has none: it still reads, as OTHER.
            values["error_kind"] = ErrorKind.parse(doc.get("error_kind"))
        fetched_at = doc.get("fetched_at")
        if isinstance(fetched_at, int | float) and not isinstance(fetched_at, bool):
            values["fetched_at"] = float(fetched_at)
        skipped = doc.get("skipped")
        if isinstance(skipped, list):
            values["skipped"] = [s for s in skipped if isinstance(s, str)]
        return cls(**values)


def poster_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:40]


class CatalogCache:
    """Files under ``data_dir``; safe to read from one process while another writes."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.catalog_dir = self.data_dir / "catalog"
        self.posters_dir = self.data_dir / "posters"
        self._raw_path = self.catalog_dir / "catalog.raw"
        self._meta_path = self.catalog_dir / "meta.json"
        self._generation_path = self.catalog_dir / "generation"
        # load() is called whenever generation() changes; parse again only if the file did.
        self._memo_lock = threading.Lock()
        self._memo: tuple[tuple[int, int, int, str], Catalog] | None = None

    # -- catalog ------------------------------------------------------------------------------------

    def load(self) -> Catalog | None:
        """The last good catalog, or None when there is none (yet). Never raises."""
        try:
            st = self._raw_path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cannot read the cached catalog: %s", exc)
            return None
        base_url = self.meta().base_url
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size, base_url)
        with self._memo_lock:
            if self._memo is not None and self._memo[0] == stamp:
                return self._memo[1]
        try:
            catalog = parse_catalog(self._raw_path.read_bytes(), base_url)
        except CatalogError as exc:
            log.warning("the cached catalog no longer parses, showing none: %s", exc)
            return None
        except Exception as exc:  # a damaged disk must not take the launcher down
            log.warning("cannot load the cached catalog: %s", exc)
            log.debug("cached catalog load failed", exc_info=True)
            return None
        with self._memo_lock:
            self._memo = (stamp, catalog)
        return catalog

    def raw(self) -> bytes | None:
        """The stored document exactly as fetched, or None."""
        try:
            return self._raw_path.read_bytes()
        except OSError:
            return None

    def meta(self) -> CacheMeta:
        try:
            return CacheMeta.from_json(self._meta_path.read_bytes())
        except FileNotFoundError:
            return CacheMeta()
        except OSError as exc:
            log.warning("cannot read %s: %s", self._meta_path.name, exc)
            return CacheMeta()

    def meta_stamp(self) -> int:
        """Changes whenever meta.json is rewritten (a fetch failed, recovered or found nothing new):
        one stat, cheap enough to poll every second."""
        try:
            return self._meta_path.stat().st_mtime_ns
        except OSError:
            return 0

    def save_meta(self, meta: CacheMeta) -> None:
        """Record meta alone, e.g. a failed or unchanged fetch; the stored catalog stays as it is."""
        atomic_write(self._meta_path, meta.to_json())

    def store(self, raw: bytes, meta: CacheMeta) -> Catalog:
        """Parse ``raw`` against ``meta.base_url`` and keep it as the new last good catalog.

        When it does not parse, the previous catalog and its validators stay, ``last_error`` is
        recorded (in ``meta`` and on disk) and the CatalogError is raised again.
        """
        try:
            catalog = parse_catalog(raw, meta.base_url)
        except CatalogError as exc:
            # One line (YAML errors span several) so it fits a log line and the dashboard.
            reason = " ".join(f"catalog rejected: {exc}".split())[:MAX_REASON_CHARS]
            meta.failed(reason, ErrorKind.BROKEN)
            previous = self.meta()
            # Keep the old etag: a conditional GET must not answer 304 for a document we never took.
            previous.failed(reason, ErrorKind.BROKEN)
            self.save_meta(previous)
            raise
        meta.succeeded()
        meta.skipped = [f"{s.where}: {s.reason}" for s in catalog.skipped]
        unchanged = self.raw() == raw and self.meta().base_url == meta.base_url
        if not unchanged:
            atomic_write(self._raw_path, raw)
        # Meta after raw: a power cut in between leaves the new document with old validators, and
        # the next sync simply fetches it again.
        self.save_meta(meta)
        if not unchanged:
            self._bump_generation()
        return catalog

    # -- posters ------------------------------------------------------------------------------------

    def poster_file(self, url: str, size: str) -> Path | None:
        """The prepared poster for ``url`` at ``size`` ("grid" or "page"), or None if not ready."""
        if size not in SIZES:
            raise ValueError(f"poster size must be one of {sorted(SIZES)}, not {size!r}")
        path = self.posters_dir / f"{poster_key(url)}.{size}.jpg"
        try:
            return path if path.stat().st_size > 0 else None
        except OSError:
            return None

    def poster_ready(self, url: str) -> bool:
        return all(self.poster_file(url, size) is not None for size in SIZES)

    def poster_bad(self, url: str) -> str | None:
        """Why this poster URL was given up on, or None."""
        path = self.posters_dir / f"{poster_key(url)}.bad"
        try:
            text = path.read_text("utf-8", errors="replace").strip()
        except OSError:
            return None
        return text or "unusable poster"

    def store_poster(self, url: str, prepared: dict[str, bytes]) -> None:
        missing = set(SIZES) - set(prepared)
        if missing:
            raise ValueError(f"prepared poster lacks sizes {sorted(missing)}")
        key = poster_key(url)
        for size in SIZES:
            atomic_write(self.posters_dir / f"{key}.{size}.jpg", prepared[size])
        with contextlib.suppress(FileNotFoundError):
            (self.posters_dir / f"{key}.bad").unlink()
        self._bump_generation()

    def mark_poster_bad(self, url: str, reason: str) -> None:
        key = poster_key(url)
        atomic_write(self.posters_dir / f"{key}.bad", reason.strip()[:MAX_REASON_CHARS] + "\n")
        for size in SIZES:
            with contextlib.suppress(FileNotFoundError):
                (self.posters_dir / f"{key}.{size}.jpg").unlink()

    def prune_posters(self, keep_urls: Iterable[str]) -> int:
        """Remove poster files (and leftovers of interrupted writes) for URLs not in ``keep_urls``."""
        keep = {poster_key(url) for url in keep_urls}
        removed = 0
        try:
            entries = list(os.scandir(self.posters_dir))
        except FileNotFoundError:
            return 0
        for entry in entries:
            if entry.name.split(".", 1)[0] in keep or not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed += 1
        return removed

    # -- change signal ------------------------------------------------------------------------------

    def generation(self) -> int:
        """A number that differs after every stored catalog or poster; compare it for inequality.

        One small read, cheap enough for the launcher to call every second.
        """
        try:
            text = self._generation_path.read_text("ascii")
            return int(text.strip())
        except FileNotFoundError:
            return 0
        except (OSError, ValueError):
            # Damaged by a power cut: the file's time still tells a change apart.
            try:
                return self._generation_path.stat().st_mtime_ns
            except OSError:
                return 0

    def _bump_generation(self) -> None:
        # Nanosecond clock, but never equal to the previous value even if the clock is coarse or
        # stepped back (no RTC on a Pi: the first NTP sync moves time a lot).
        value = max(time.time_ns(), self.generation() + 1)
        atomic_write(self._generation_path, f"{value}\n")
