"""The power-cut drill stops the updater at the named step of the named boot only."""

from __future__ import annotations

from pathlib import Path

from piclient.update import drill
from piclient.update.layout import Layout


def _drill(tmp_path: Path, text: str) -> tuple[Layout, Path]:
    layout = Layout(root=tmp_path / "updates")
    layout.root.mkdir()
    (layout.root / "drill").write_text(text)
    boot_id = tmp_path / "boot_id"
    boot_id.write_text("1111-this-boot\n")
    return layout, boot_id


def test_the_drill_stops_at_its_step_of_this_boot(tmp_path: Path) -> None:
    layout, boot_id = _drill(tmp_path, "current-written 1111-this-boot\n")
    at_step = drill.hook(layout, boot_id, pause_s=0)
    at_step("previous-written")
    assert not (layout.root / "drill-paused").exists()
    at_step("current-written")
    assert (layout.root / "drill-paused").read_text() == "current-written\n"


def test_a_drill_meant_for_another_boot_or_unreadable_is_ignored(tmp_path: Path) -> None:
    layout, boot_id = _drill(tmp_path, "current-written 2222-the-boot-before-the-cut\n")
    drill.hook(layout, boot_id, pause_s=0)("current-written")
    (layout.root / "drill").write_bytes(b"\xff\xfe nonsense")
    drill.hook(layout, boot_id, pause_s=0)("current-written")
    (layout.root / "drill").unlink()
    drill.hook(layout, boot_id, pause_s=0)("current-written")
    assert not (layout.root / "drill-paused").exists()
