"""The emulated hardware the other hardware tests stand on: a failure here explains theirs."""

from __future__ import annotations

import importlib.util
import struct
import subprocess
from pathlib import Path


def test_the_vm_has_an_hdmi_cec_bus_with_a_tv_side_and_a_box_side() -> None:
    assert Path("/dev/cec0").exists() and Path("/dev/cec1").exists()
    tv = subprocess.run(["cec-ctl", "-d", "/dev/cec0"], capture_output=True, text=True, timeout=10).stdout
    box = subprocess.run(["cec-ctl", "-d", "/dev/cec1"], capture_output=True, text=True, timeout=10).stdout
    print(tv, box)
    assert "vivid" in tv and "vivid" in box


def test_the_vm_has_a_kms_display_with_a_connected_output() -> None:
    cards = sorted(Path("/sys/class/drm").glob("card0-*"))
    assert cards, "no DRM connector"
    assert any((card / "status").read_text().strip() == "connected" for card in cards)


def test_the_projects_modules_have_byte_code_made_before_boot_that_this_python_takes() -> None:
    """The project is shared read-only and the guest writes no byte code: a module without it is
    compiled again by every process on the emulated CPU (tests/hw/run_vm.py compiles them first).
    Python takes a .pyc whose magic number is its own and whose recorded time and size are those of
    the source as the guest sees it (over 9p)."""
    project = Path(__file__).resolve().parents[2]
    stale = []
    sources = sorted((project / "piclient").rglob("*.py"))
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        try:
            header = cached.read_bytes()[:16]
        except FileNotFoundError:
            stale.append(f"{source}: no byte code")
            continue
        magic, flags, mtime, size = header[:4], *struct.unpack("<3I", header[4:16])
        seen = source.stat()
        if magic != importlib.util.MAGIC_NUMBER or flags != 0 or (mtime, size) != (
                int(seen.st_mtime) & 0xFFFFFFFF, seen.st_size & 0xFFFFFFFF):
            stale.append(f"{source}: byte code for another Python or another version of the file")
    assert len(sources) > 100 and not stale, stale
