"""The ``current`` link, switched so that a power cut at any instant leaves a complete version behind it.

A switch writes a new link beside the old one, fsyncs the folder, and renames it over: rename(2) is
atomic, so ``current`` always names either the old version or the new one. ``previous`` is written
first, so when ``current`` names the new version, ``previous`` already names the one to go back to.
``recover()`` runs at every boot, before the units, and mends whatever an interrupted step left.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from piclient.fsutil import fsync_dir
from piclient.update.layout import UNPACK_PREFIX, Layout

log = logging.getLogger(__name__)

# The steps a switch goes through, named for the test hook that kills the process at each of them.
STEPS = ("begin", "previous-written", "previous-renamed", "current-written", "current-renamed")
Hook = Callable[[str], None]


class SwitchError(Exception):
    pass


def _link_text(layout: Layout, target: Path) -> str:
    # Versions are linked relatively (the data partition may be mounted elsewhere when mended from a
    # PC); the image's own install by its absolute path.
    if target.parent == layout.versions:
        return os.path.join("versions", target.name)
    return str(target)


def _replace_link(layout: Layout, link: Path, target: Path, hook: Hook, written: str, renamed: str) -> None:
    new = link.with_name(link.name + ".new")
    with contextlib.suppress(FileNotFoundError):
        new.unlink()
    new.symlink_to(_link_text(layout, target))
    fsync_dir(link.parent)
    hook(written)
    os.replace(new, link)
    fsync_dir(link.parent)
    hook(renamed)


def switch_to(layout: Layout, target: Path, hook: Hook = lambda step: None) -> Path:
    """Point ``current`` at ``target`` (a complete venv) and ``previous`` at what ran before.

    Returns the venv that ran before.
    """
    if not layout.is_complete(target):
        raise SwitchError(f"{target} is not a complete install")
    hook("begin")
    before = layout.running_venv()
    if before != target:
        _replace_link(layout, layout.previous, before, hook, "previous-written", "previous-renamed")
    _replace_link(layout, layout.current, target, hook, "current-written", "current-renamed")
    log.info("current is now %s (was %s)", layout.version_of(target), layout.version_of(before))
    return before


def recover(layout: Layout) -> Path:
    """Mend what an interrupted install or switch left; return the venv the units will start."""
    layout.root.mkdir(parents=True, exist_ok=True)
    for link in (layout.current, layout.previous):
        new = link.with_name(link.name + ".new")
        if new.is_symlink() or new.exists():
            log.info("removing %s, left by an interrupted switch", new.name)
            new.unlink()
    current = layout.link_target(layout.current)
    if current is None or not layout.is_complete(current):
        previous = layout.link_target(layout.previous)
        fallback = previous if previous is not None and layout.is_complete(previous) else layout.factory
        if layout.current.is_symlink():
            log.warning("current names no complete version; going back to %s", layout.version_of(fallback))
        _replace_link(layout, layout.current, fallback, lambda step: None, "", "")
        current = fallback
    remove_incomplete(layout)
    # Wheels unpacked for a pip run the power cut stopped: nothing uses them again (an install
    # unpacks afresh), and each would keep tens of MB of her card.
    for entry in layout.root.glob(UNPACK_PREFIX + "*"):
        log.info("removing %s, left by an interrupted install", entry.name)
        shutil.rmtree(entry, ignore_errors=True)
    return current


def remove_incomplete(layout: Layout) -> None:
    """Remove version folders an install did not finish (no marker), unless a link still names one."""
    if not layout.versions.is_dir():
        return
    linked = {layout.link_target(layout.current), layout.link_target(layout.previous)}
    for entry in layout.versions.iterdir():
        if entry.is_dir() and entry not in linked and not layout.is_complete(entry):
            log.info("removing %s, left by an interrupted install", entry.name)
            shutil.rmtree(entry, ignore_errors=True)
