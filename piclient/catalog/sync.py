"""Catalog sync: fetch the catalog and its posters into the cache, in the background.

Anything can come back from the network or the catalog file, and none of it may stop the box: every
failure becomes an error string in the result (and in the cache's meta for the maintainer) with an
``ErrorKind`` (the launcher's calm sentence for the viewer follows it), the last good catalog stays on
screen, and the next sync tries again. Poster failures are told apart: a network
fault is retried next time, a file that is not a usable picture is marked bad until its URL changes.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import requests

from piclient import __version__
from piclient.catalog.cache import CacheMeta, CatalogCache, ErrorKind
from piclient.catalog.model import Catalog, CatalogError
from piclient.catalog.posters import MAX_INPUT_BYTES as MAX_POSTER_BYTES
from piclient.catalog.posters import PosterError, prepare_poster
from piclient.netio import TooLarge, TooSlow, read_capped

log = logging.getLogger(__name__)

MAX_CATALOG_BYTES = 20 * 1024 * 1024
POSTER_WORKERS = 2
# requests' timeout is per socket operation; a server dripping one byte at a time needs a total limit.
TOTAL_TIME_FACTOR = 6


@dataclass
class SyncResult:
    changed: bool = False  # a new catalog was stored
    titles: int = 0  # titles in the catalog now in the cache
    skipped: int = 0  # entries of that catalog that were left out
    posters_fetched: int = 0
    posters_bad: int = 0  # newly marked bad in this run
    error: str | None = None
    error_kind: ErrorKind | None = None  # set exactly when error is


class _FetchError(Exception):
    """The catalog could not be fetched, and which kind of failure that was."""

    def __init__(self, message: str, kind: ErrorKind) -> None:
        super().__init__(message)
        self.kind = kind


def _status_kind(status: int) -> ErrorKind:
    # 401/403: the server is up and says this box (its token) is not allowed: fixed in the setup, not
    # by waiting. Every other error status means the server itself has a problem.
    return ErrorKind.SETUP if status in (401, 403) else ErrorKind.SERVER


class _PosterUnusable(Exception):
    """This poster URL will not work until it changes (wrong place, too large)."""


class CatalogSync:
    def __init__(
        self,
        source: str,
        cache: CatalogCache,
        session: requests.Session | None = None,
        timeout: float = 10,
    ) -> None:
        self.source = source.strip()
        self.cache = cache
        self.timeout = timeout
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = f"piclient/{__version__}"
        self.session = session

    @property
    def is_http(self) -> bool:
        return self.source.startswith(("http://", "https://"))

    def run_once(self) -> SyncResult:
        """One sync: catalog, then missing posters. Never raises; failures are in ``error``."""
        result = SyncResult()
        try:
            self._run(result)
        except Exception as exc:
            log.debug("catalog sync failed", exc_info=True)
            if result.error is None:
                result.error = f"sync failed: {type(exc).__name__}: {exc}"
                result.error_kind = ErrorKind.OTHER
            # Not recorded in meta: this is a bug or a full disk (which would fail that write too), and
            # the catalog step may well have succeeded before it.
        self._log_summary(result)
        return result

    # -- catalog ------------------------------------------------------------------------------------

    def _run(self, result: SyncResult) -> None:
        if not self.source:
            result.error, result.error_kind = "no catalog source configured", ErrorKind.SETUP
            return
        current = self.cache.load()
        generation = self.cache.generation()
        try:
            catalog = self._fetch_catalog(current)
            if catalog is not None:
                current = catalog
                # The same bytes fetched again (a server without validators) are not a change.
                result.changed = self.cache.generation() != generation
        except _FetchError as exc:
            result.error, result.error_kind = str(exc), exc.kind
            meta = self.cache.meta()
            meta.failed(result.error, exc.kind)
            self.cache.save_meta(meta)
        except CatalogError as exc:
            # The cache recorded it in meta already, with its kind.
            result.error = self.cache.meta().last_error or f"catalog rejected: {exc}"
            result.error_kind = ErrorKind.BROKEN
        if current is None:
            return
        result.titles = len(current)
        result.skipped = len(current.skipped)
        if result.error_kind is ErrorKind.NETWORK:
            # The network is down or the server is gone: poster requests would only time out too.
            return
        self._sync_posters(current, result)

    def _fetch_catalog(self, current: Catalog | None) -> Catalog | None:
        """The newly stored catalog, or None when the source has not changed."""
        meta = self.cache.meta()
        same_source = meta.source == self.source and current is not None
        if self.is_http:
            return self._fetch_http(meta if same_source else CacheMeta())
        return self._fetch_file(meta if same_source else CacheMeta())

    def _fetch_file(self, meta: CacheMeta) -> Catalog | None:
        path = Path(self.source).expanduser()
        try:
            with open(path, "rb") as handle:
                st = os.fstat(handle.fileno())
                tag = f"file:{st.st_mtime_ns}:{st.st_size}"
                if meta.etag == tag:
                    self._record_unchanged(meta)
                    return None
                if st.st_size > MAX_CATALOG_BYTES:
                    raise _FetchError(f"catalog file {path} is larger than 20 MB", ErrorKind.BROKEN)
                raw = handle.read(MAX_CATALOG_BYTES + 1)
        except (FileNotFoundError, NotADirectoryError):
            # Often a USB disk unplugged or a share not mounted (yet), rather than a wrong path.
            raise _FetchError(f"catalog file {path} does not exist", ErrorKind.MISSING) from None
        except IsADirectoryError:
            raise _FetchError(f"catalog source {path} is a directory", ErrorKind.SETUP) from None
        except PermissionError as exc:
            raise _FetchError(f"cannot read catalog file {path}: {exc}", ErrorKind.SETUP) from None
        except OSError as exc:
            # EIO, a stale NFS handle...: the disk or share holding the library is failing.
            raise _FetchError(f"cannot read catalog file {path}: {exc}", ErrorKind.MISSING) from None
        if len(raw) > MAX_CATALOG_BYTES:
            raise _FetchError(f"catalog file {path} is larger than 20 MB", ErrorKind.BROKEN)
        new = CacheMeta(
            source=self.source,
            base_url=path.resolve().as_uri(),
            etag=tag,
            fetched_at=time.time(),
        )
        return self.cache.store(raw, new)

    def _fetch_http(self, meta: CacheMeta) -> Catalog | None:
        headers = {}
        if meta.etag:
            headers["If-None-Match"] = meta.etag
        if meta.last_modified:
            headers["If-Modified-Since"] = meta.last_modified
        try:
            with self.session.get(
                self.source, headers=headers, timeout=self.timeout, stream=True
            ) as response:
                if response.status_code == 304:
                    self._record_unchanged(meta)
                    return None
                if not 200 <= response.status_code < 300:
                    raise _FetchError(
                        f"catalog fetch failed: HTTP {response.status_code} {response.reason or ''}".rstrip(),
                        _status_kind(response.status_code),
                    )
                raw = read_capped(response, MAX_CATALOG_BYTES, self.timeout * TOTAL_TIME_FACTOR)
                final_url = response.url or self.source
                etag = response.headers.get("ETag")
                last_modified = response.headers.get("Last-Modified")
        except TooLarge:
            raise _FetchError("catalog is larger than 20 MB", ErrorKind.BROKEN) from None
        except TooSlow:
            raise _FetchError("catalog download took too long", ErrorKind.NETWORK) from None
        except requests.Timeout:
            raise _FetchError(f"catalog fetch timed out after {self.timeout:g} s", ErrorKind.NETWORK) from None
        except requests.exceptions.SSLError as exc:
            # Before ConnectionError, its base: the line works but the certificate does not (expired,
            # wrong name), which the maintainer fixes on the server. A Pi without a clock battery may
            # also fail here right after boot, but only until NTP, which needs no TLS, sets its clock.
            raise _FetchError(f"catalog server's TLS failed: {_short(exc)}", ErrorKind.SERVER) from None
        except requests.ConnectionError as exc:
            raise _FetchError(f"cannot reach the catalog server: {_short(exc)}", ErrorKind.NETWORK) from None
        except requests.exceptions.ChunkedEncodingError as exc:
            # The connection broke in the middle of the body: the line, not the server's answer.
            raise _FetchError(f"catalog download was cut off: {_short(exc)}", ErrorKind.NETWORK) from None
        except requests.TooManyRedirects as exc:
            raise _FetchError(f"catalog fetch failed: {_short(exc)}", ErrorKind.SERVER) from None
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                requests.exceptions.MissingSchema) as exc:
            raise _FetchError(f"catalog source URL is not usable: {_short(exc)}", ErrorKind.SETUP) from None
        except requests.exceptions.ContentDecodingError as exc:
            raise _FetchError(f"catalog arrived garbled: {_short(exc)}", ErrorKind.BROKEN) from None
        except requests.RequestException as exc:
            raise _FetchError(f"catalog fetch failed: {_short(exc)}", ErrorKind.OTHER) from None
        new = CacheMeta(
            source=self.source,
            base_url=final_url,
            etag=etag,
            last_modified=last_modified,
            fetched_at=time.time(),
        )
        return self.cache.store(raw, new)

    def _record_unchanged(self, meta: CacheMeta) -> None:
        meta.fetched_at = time.time()
        meta.succeeded()
        self.cache.save_meta(meta)

    # -- posters ------------------------------------------------------------------------------------

    def _sync_posters(self, catalog: Catalog, result: SyncResult) -> None:
        wanted = list(dict.fromkeys(t.poster for t in catalog.titles if t.poster))
        todo = [url for url in wanted if not self.cache.poster_ready(url) and self.cache.poster_bad(url) is None]
        if todo:
            # Fetch two at a time; decode here, one at a time, so a Pi holds one big bitmap at most.
            # Only a few downloads run ahead of the decoding, so fetched bytes cannot pile up in memory.
            with ThreadPoolExecutor(max_workers=POSTER_WORKERS, thread_name_prefix="poster") as pool:
                pending: deque[tuple[str, Future[bytes]]] = deque()
                for url in todo:
                    pending.append((url, pool.submit(self._fetch_poster, url)))
                    if len(pending) > 2 * POSTER_WORKERS:
                        self._finish_poster(*pending.popleft(), result)
                while pending:
                    self._finish_poster(*pending.popleft(), result)
        self.cache.prune_posters(wanted)

    def _finish_poster(self, url: str, future: Future[bytes], result: SyncResult) -> None:
        try:
            data = future.result()
            prepared = prepare_poster(data)
        except (_PosterUnusable, PosterError) as exc:
            # A warning, so the box's problems name the poster for the maintainer; it is not fetched again.
            log.warning("poster %s is unusable: %s", _short(url), exc)
            self.cache.mark_poster_bad(url, str(exc))
            result.posters_bad += 1
            return
        except Exception as exc:
            # Network faults and the like: try again on the next sync.
            log.info("poster %s not fetched, will retry: %s", _short(url), _short(exc))
            return
        self.cache.store_poster(url, prepared)
        result.posters_fetched += 1

    def _fetch_poster(self, url: str) -> bytes:
        scheme = urlsplit(url).scheme
        if scheme == "file":
            return self._read_local_poster(url)
        if scheme not in ("http", "https"):
            raise _PosterUnusable(f"poster URL scheme {scheme!r} is not supported")
        try:
            with self.session.get(url, timeout=self.timeout, stream=True) as response:
                if not 200 <= response.status_code < 300:
                    # A 404 may be a poster not uploaded yet: worth asking again next time.
                    raise requests.HTTPError(f"HTTP {response.status_code}")
                return read_capped(response, MAX_POSTER_BYTES, self.timeout * TOTAL_TIME_FACTOR)
        except TooLarge:
            raise _PosterUnusable("poster is larger than 15 MB") from None

    def _read_local_poster(self, url: str) -> bytes:
        if self.is_http:
            raise _PosterUnusable("file:// posters are only read for a catalog that is a local file")
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise _PosterUnusable("file:// poster on another host")
        folder = Path(self.source).expanduser().resolve().parent
        # resolve() follows symlinks and "..": whatever the catalog says, only its own folder is read.
        path = Path(unquote(parts.path)).resolve()
        if not path.is_relative_to(folder):
            raise _PosterUnusable("file:// poster is outside the catalog's folder")
        if not path.is_file():
            if path.exists():
                raise _PosterUnusable("file:// poster is not a regular file")
            raise FileNotFoundError(f"poster file {path.name} does not exist (yet)")
        with open(path, "rb") as handle:
            data = handle.read(MAX_POSTER_BYTES + 1)
        if len(data) > MAX_POSTER_BYTES:
            raise _PosterUnusable("poster is larger than 15 MB")
        return data

    # -- reporting ----------------------------------------------------------------------------------

    def _log_summary(self, result: SyncResult) -> None:
        state = "new catalog" if result.changed else "catalog unchanged"
        line = (
            f"catalog sync: {state}, {result.titles} titles ({result.skipped} skipped), "
            f"posters {result.posters_fetched} new, {result.posters_bad} bad"
        )
        if result.error:
            log.warning("%s; error (%s): %s", line, result.error_kind, result.error)
        else:
            log.info("%s", line)


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 160 else text[:157] + "..."


class SyncLoop:
    """Runs ``sync`` every ``interval_s`` in a thread, sooner after ``trigger()``.

    ``on_change`` is called (on the loop's thread) after a sync stored a new catalog or poster.
    After a failed sync the next try comes sooner, backing off up to the normal interval, so a box
    that booted before its Wi-Fi came up does not wait a whole interval for its first catalog.
    """

    RETRY_FIRST_S = 30.0

    def __init__(
        self,
        sync: CatalogSync,
        interval_s: float,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.sync = sync
        self.interval_s = interval_s
        self.on_change = on_change
        self._stopping = False
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("SyncLoop already started")
        self._thread = threading.Thread(target=self._run, name="catalog-sync", daemon=True)
        self._thread.start()

    def trigger(self) -> None:
        """Sync now (or right after the sync in progress)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the loop to end and wait up to ``timeout``; True when the thread has ended."""
        self._stopping = True
        self._wake.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopping:
            try:
                result = self.sync.run_once()
                self._failures = self._failures + 1 if result.error else 0
                if (result.changed or result.posters_fetched) and self.on_change is not None:
                    self.on_change()
            except Exception:
                log.exception("catalog sync loop: unexpected error")
            self._wake.wait(self._next_wait())
            self._wake.clear()

    def _next_wait(self) -> float:
        if not self._failures:
            return self.interval_s
        backoff = self.RETRY_FIRST_S * 2 ** min(self._failures - 1, 10)
        return min(self.interval_s, backoff * random.uniform(0.8, 1.2))
