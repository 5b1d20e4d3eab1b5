"""The agent's part in updates (docs/updates.md): take the server's offer, download it in the
background, report the update's state in every heartbeat, and leave proof of life for the updater."""

from __future__ import annotations

import logging
import threading
from typing import Any

import requests

from piclient import __version__
from piclient.protocol import UpdateReport, parse_or_none
from piclient.update import alive, download, status
from piclient.update.layout import Layout

log = logging.getLogger(__name__)


class AgentUpdates:
    def __init__(self, layout: Layout, session: requests.Session, base_url: str, running: str = __version__) -> None:
        self.layout = layout
        self.session = session
        self.base_url = base_url
        self.running = running
        self._busy = threading.Lock()

    def section(self) -> UpdateReport | None:
        """The heartbeat's ``update`` field: the last state the box's update reached."""
        doc = status.read(self.layout.status)
        if doc is None:
            return None
        return parse_or_none(UpdateReport, {k: doc.get(k) for k in UpdateReport.model_fields if k in doc},
                             "the update's state file")

    def accepted(self, tv_running: bool) -> None:
        """A heartbeat reached the server: this version works as far as the agent can tell."""
        try:
            alive.record(self.layout.alive, self.running, tv_running=tv_running)
        except OSError as exc:
            log.warning("could not record the heartbeat for the updater: %s", exc)

    def offered(self, raw: Any) -> None:
        offer = download.parse_offer(raw)
        if offer is None or not download.wanted(self.layout, offer, self.running):
            return
        if not self._busy.acquire(blocking=False):
            return  # a download is under way
        thread = threading.Thread(target=self._take, args=(offer,), name="update-download", daemon=True)
        thread.start()

    def _take(self, offer: dict[str, Any]) -> None:
        try:
            download.take_offer(self.session, self.base_url, offer, self.layout, self.running)
        except Exception:  # a background thread must not die silently
            log.exception("update %s failed", offer["version"])
        finally:
            self._busy.release()
