"""The agent's half of an update: fetch the offered bundle (resuming a partial download with an HTTP
Range request), check its SHA-256, and hand it to the image's updater as ``request.json``.

Runs in the agent, so it decides nothing that could strand the box: the worst a broken agent can do
here is never ask for an update.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path
from typing import Any

import requests

from piclient.fsutil import atomic_write, fsync_dir
from piclient.update import status
from piclient.update.layout import BadVersion, Layout, check_version
from piclient.update.runner import Request

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
MAX_BUNDLE = 2 * 1024**3
SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class DownloadError(Exception):
    pass


def parse_offer(offer: Any) -> dict[str, Any] | None:
    """The heartbeat reply's ``update`` field, checked; None when it is missing or malformed."""
    if not isinstance(offer, dict):
        return None
    try:
        version = check_version(str(offer.get("version")))
    except BadVersion:
        return None
    sha, url, size = offer.get("sha256"), offer.get("url"), offer.get("size")
    if not (isinstance(sha, str) and SHA_RE.match(sha) and isinstance(url, str) and url.startswith("/")
            and isinstance(size, int) and 0 < size <= MAX_BUNDLE):
        return None
    return {"version": version, "sha256": sha, "url": url, "size": size,
            "signature": str(offer.get("signature") or "")}


def wanted(layout: Layout, offer: dict[str, Any], running: str) -> bool:
    """Whether to act on an offer: not the running version, not one already tried here, none under way."""
    if offer["version"] == running or layout.request.exists():
        return False
    doc = status.read(layout.status) or {}
    # A version this box rolled back (or decided to) or refused is not tried again until the server
    # offers another.
    return not (doc.get("version") == offer["version"]
                and doc.get("state") in ("rolling_back", "rolled_back", "failed"))


def fetch(session: requests.Session, base_url: str, offer: dict[str, Any], layout: Layout,
          timeout_s: float = 30.0) -> Path:
    """Download (or finish downloading) the bundle into incoming/; return the checked file."""
    layout.incoming.mkdir(parents=True, exist_ok=True)
    final = layout.incoming / f"{offer['sha256']}.bundle"
    if final.exists():
        return final
    part = final.with_suffix(".part")
    have = part.stat().st_size if part.exists() else 0
    if have > offer["size"]:
        part.unlink()
        have = 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    with session.get(base_url.rstrip("/") + offer["url"], headers=headers, stream=True, timeout=timeout_s) as reply:
        if reply.status_code == 200:
            have = 0  # the server sent the whole file: start over
        elif reply.status_code != 206 and not (reply.status_code == 416 and have == offer["size"]):
            raise DownloadError(f"the server answered {reply.status_code} for the bundle")
        if reply.status_code != 416:
            with part.open("r+b" if have else "wb") as handle:
                handle.seek(have)
                handle.truncate()
                for chunk in reply.iter_content(CHUNK):
                    handle.write(chunk)
                    if handle.tell() > offer["size"]:
                        raise DownloadError("the bundle is larger than the server said")
                handle.flush()
                os.fsync(handle.fileno())
    digest = hashlib.sha256()
    with part.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != offer["sha256"]:
        part.unlink()  # a damaged download is fetched again whole, not resumed
        raise DownloadError("the downloaded bundle does not match its SHA-256")
    part.replace(final)
    fsync_dir(final.parent)
    return final


def hand_over(layout: Layout, offer: dict[str, Any], path: Path) -> None:
    """Ask the image's updater (a path unit watches request.json) to install and try the bundle."""
    atomic_write(layout.request, Request(path, offer["sha256"], offer["version"], offer["signature"]).to_json())


def take_offer(session: requests.Session, base_url: str, offer: dict[str, Any], layout: Layout,
               running: str) -> bool:
    """Download and hand over one offer; the state file says how far it got. True once handed over."""
    if not wanted(layout, offer, running):
        return False
    status.write(layout.status, "downloading", offer["version"], from_version=running)
    try:
        path = fetch(session, base_url, offer, layout)
    except (DownloadError, requests.RequestException, OSError) as exc:
        log.warning("update %s: download not finished (%s); it resumes at the next offer", offer["version"], exc)
        status.write(layout.status, "downloading", offer["version"], from_version=running, reason=str(exc))
        return False
    hand_over(layout, offer, path)
    log.info("update %s downloaded and handed to the updater", offer["version"])
    return True
