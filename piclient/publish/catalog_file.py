"""The library's catalog.json, changed under a lock and written atomically, or not at all.

Several publishers (the CLI, server workers) may finish at the same moment: each takes an exclusive
lock on a hidden file next to the catalog, reads the newest catalog, changes it, checks the result
with the box's own parser and writes it with ``atomic_write``. A catalog that does not parse stops
the change and stays as it is: fixing it is the maintainer's call, not something to overwrite.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from piclient.catalog.model import CatalogError, parse_catalog
from piclient.fsutil import atomic_write
from piclient.publish.errors import PublishError

CATALOG = "catalog.json"
LOCK = ".catalog.lock"
HIDDEN = "hidden_titles"  # titles the boxes must not show (they read only "titles"); see edit.py
# Relative URLs resolve against the catalog's own URL; any http base checks that they are usable.
_CHECK_BASE = "http://library.invalid/library/catalog.json"

Document = dict[str, Any]


@contextlib.contextmanager
def locked(library: Path) -> Iterator[None]:
    library.mkdir(parents=True, exist_ok=True)
    with open(library / LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read(library: Path) -> Document:
    """The catalog as a plain document (unknown fields kept), or an empty one when there is none."""
    path = library / CATALOG
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {"version": 1, "titles": []}
    except OSError as exc:
        raise PublishError(f"{path} cannot be read", detail=str(exc)) from None
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PublishError(f"{path} is not valid JSON; fix or move it first, nothing was changed",
                           detail=str(exc)) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("titles"), list):
        raise PublishError(f"{path} has no 'titles' list; fix or move it first, nothing was changed")
    return doc


def update(library: Path, change: Callable[[Document], None], *, must_keep: tuple[str, ...] = ()) -> Document:
    """Apply ``change`` to the newest catalog and write it; ``must_keep`` are ids the result must show."""
    with locked(library):
        doc = read(library)
        change(doc)
        text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
        try:
            parsed = parse_catalog(text, _CHECK_BASE)
        except CatalogError as exc:
            raise PublishError("the new catalog would not be readable by the boxes; nothing was changed",
                               detail=str(exc)) from None
        shown = {pid for title in parsed.titles for pid in (title.id, *title.playable_ids)}
        lost = [pid for pid in must_keep if pid not in shown]
        if lost:
            reasons = "; ".join(f"{s.where}: {s.reason}" for s in parsed.skipped)
            raise PublishError(f"the boxes would not show {', '.join(lost)}; nothing was changed", detail=reasons)
        atomic_write(library / CATALOG, text)
        return doc


def find_title(doc: Document, title_id: str) -> dict[str, Any] | None:
    return next((t for t in doc["titles"] if isinstance(t, dict) and t.get("id") == title_id), None)
