"""The server's catalog and posters into the launcher's cache, then a nudge for the launcher.

Reuses ``CatalogSync`` (conditional GET, capped downloads, poster preparation). Two adjustments for
the server: the device token goes with every request to the server's own origin (posters there are
protected too) and nowhere else, and relative URLs in the catalog resolve against
``/library/catalog.json`` as docs/protocol.md says, not against the API address it came from.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import requests

from piclient.agent.transport import new_session
from piclient.agent.tvlink import TvLink
from piclient.catalog.cache import CatalogCache, ErrorKind
from piclient.catalog.sync import CatalogSync, SyncResult
from piclient.control.client import ControlUnavailable

log = logging.getLogger(__name__)

CATALOG_PATH = "/api/v1/catalog"
LIBRARY_BASE = "/library/catalog.json"


class CatalogSyncer:
    def __init__(self, base_url: str, token: str, cache: CatalogCache, tv: TvLink, timeout_s: float,
                 session: requests.Session | None = None) -> None:
        self.catalog_url = base_url.rstrip("/") + CATALOG_PATH
        self.library_url = base_url.rstrip("/") + LIBRARY_BASE
        self.session = session or new_session(base_url, token)
        self.session.hooks["response"].append(self._library_base)
        self.cache = cache
        self.sync = CatalogSync(self.catalog_url, cache, session=self.session, timeout=timeout_s)
        self.tv = tv
        self._lock = threading.Lock()  # the schedule and a "reload" command never sync at once

    def close(self) -> None:
        self.session.close()

    def _library_base(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        # CatalogSync resolves relative URLs against response.url; the catalog's base is the library.
        if response.url.split("?", 1)[0] == self.catalog_url:
            response.url = self.library_url
        return response

    def run(self) -> SyncResult:
        with self._lock:
            result = self.sync.run_once()
        if result.changed or result.posters_fetched:
            self.tell_launcher()
        return result

    def record_outage(self, kind: ErrorKind, reason: str) -> None:
        """The catalog is due but the server cannot be asked (the transport holds requests back after
        an outage or a refusal): note it in the cache as a failed check, so the launcher's footer tells
        her what a failed sync would have. The next check that reaches the server clears it."""
        with self._lock:
            meta = self.cache.meta()
            message = f"server not asked: {reason}"
            if meta.last_error == message and meta.error_kind is kind:
                return
            meta.failed(message, kind)
            self.cache.save_meta(meta)
        self.tell_launcher()

    def tell_launcher(self) -> bool:
        try:
            reply = self.tv.call("reload")
        except ControlUnavailable as exc:
            # It reads the cache when it starts anyway.
            log.info("launcher not told about the new catalog: %s", exc)
            return False
        return bool(reply.get("ok"))
