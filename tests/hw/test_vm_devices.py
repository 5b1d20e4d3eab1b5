"""The emulated hardware the other hardware tests stand on: a failure here explains theirs."""

from __future__ import annotations

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
