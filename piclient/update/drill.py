"""Power-cut drills: the updater stops at one named step so that the power can be cut right there.

``updates/drill`` holds ``STEP BOOT_ID`` (the boot it is meant for, from
/proc/sys/kernel/random/boot_id). At that step of that boot the updater writes ``updates/drill-paused``
with the step's name and waits, at most ``PAUSE_S``, for the power to go; then it goes on as if nothing
happened. After the cut the box boots with another boot id, so the same file never stops it twice.
The QEMU image test (image/test/test_image_boot.py) drives it; on a box nobody writes the file, and at
worst it delays an update by ``PAUSE_S``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from piclient.update.layout import Layout

log = logging.getLogger(__name__)

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
PAUSE_S = 900.0


def hook(layout: Layout, boot_id: Path = BOOT_ID, pause_s: float = PAUSE_S) -> Callable[[str], None]:
    """The updater's step hook: a no-op unless a drill names this step and this boot."""
    def at_step(step: str) -> None:
        try:
            wanted_step, wanted_boot = (layout.root / "drill").read_text("ascii").split()[:2]
            this_boot = boot_id.read_text("ascii").strip()
        except (OSError, ValueError, UnicodeDecodeError):
            return
        if wanted_step != step or wanted_boot != this_boot:
            return
        log.warning("power-cut drill: pausing at %s for at most %.0f s", step, pause_s)
        (layout.root / "drill-paused").write_text(step + "\n", "ascii")
        time.sleep(pause_s)

    return at_step
