"""Every word on screen stays inside the title-safe area (the middle 90 %), measured in the
launcher's own screenshots at 1920x1080, and ui.overscan_percent moves it further in.

Text pixels are found by painting each screen twice, once as it is and once with every piece of
text drawn transparent: whatever differs is text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pygame
import pytest
from PIL import Image, ImageChops

from piclient.catalog.cache import ErrorKind
from piclient.ui import theme
from piclient.ui.player_screen import LEGEND_S
from tests.catalogs import film, series
from tests.fake_player import FakePlayer
from tests.ui.test_player_screen import Rig, screenshot

FULL_HD = (1920, 1080)


def library() -> list[dict]:
    """Enough titles to fill a row past the right edge, new ones (badges), long names, a long series."""
    films = [film(f"f{n}", f"아주 긴 제목의 영화 {n}번째 작품입니다", added_days_ago=1 if n % 2 else 100)
             for n in range(12)]
    return [*films, series("s", "열여섯 편짜리 시리즈의 아주 긴 이름", episodes=16, added_days_ago=1)]


def safe_margin(overscan_percent: float) -> float:
    """How far in from each edge text may start, as a fraction of the screen: the screens draw into
    the middle of it, overscan_percent in from each edge, and keep their own 5 % inside that."""
    inset = overscan_percent / 100
    return inset + theme.SAFE_MARGIN * (1 - 2 * inset)


def go_offline(rig: Rig, kind: ErrorKind) -> None:
    """The catalog's last refresh failed, as the agent records it; the launcher reads it within a second."""
    meta = rig.cache.meta()
    meta.failed("connection refused", kind)
    rig.cache.save_meta(meta)
    rig.step(2)


def text_box(rig: Rig) -> tuple[int, int, int, int] | None:
    """The bounding box of every text pixel on the screen now, from two screenshots."""
    fonts = rig.app.ui.fonts
    with_text = screenshot(rig)
    real = fonts.render

    def invisible(text: str, size: int, *args: object, **kwargs: object) -> pygame.Surface:
        return pygame.Surface(real(text, size, *args, **kwargs).get_size(), pygame.SRCALPHA)  # type: ignore[arg-type]

    fonts.render = invisible  # type: ignore[method-assign]
    try:
        rig.app._library_changed()  # drop drawn-once pieces (placeholders, resting rows) that hold text
        rig.app.overlays.changed = True
        without = screenshot(rig)
    finally:
        del fonts.render
        rig.app._library_changed()
        rig.app.overlays.changed = True

    def image(surface: pygame.Surface) -> Image.Image:
        return Image.frombytes("RGB", surface.get_size(), pygame.image.tobytes(surface, "RGB"))

    return ImageChops.difference(image(with_text), image(without)).getbbox()


def assert_inside(box: tuple[int, int, int, int] | None, margin: float) -> None:
    assert box is not None, "no text found: the measurement is broken"
    width, height = FULL_HD
    left, top, right, bottom = box
    inside = (round(width * margin), round(height * margin), width - round(width * margin),
              height - round(height * margin))
    assert left >= inside[0] and top >= inside[1] and right <= inside[2] and bottom <= inside[3], (
        f"text spans {box}; the safe area is {inside}")


@pytest.fixture(params=[0, 5], ids=["no-overscan", "overscan-5"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(tmp_path, FakePlayer(), size=FULL_HD, ui=f", overscan_percent: {request.param}", titles=library())
    rig.margin = safe_margin(request.param)  # type: ignore[attr-defined]
    rig.step()
    yield rig
    rig.app.close()
    pygame.display.quit()


def test_the_home_screen_and_its_offline_footer_stay_inside_the_safe_area(rig: Rig) -> None:
    go_offline(rig, ErrorKind.NETWORK)
    assert rig.app.status()["overlay"]["footer"]
    assert_inside(text_box(rig), rig.margin)  # type: ignore[attr-defined]
    rig.key("down")  # from the row of new titles (badges) to the films, the series resting below
    assert_inside(text_box(rig), rig.margin)  # type: ignore[attr-defined]


def test_a_message_from_the_maintainer_stays_inside_the_safe_area(rig: Rig) -> None:
    rig.app.overlays.show_message("엄마, 새 영화가 들어왔어요. " * 12, 30, rig.clock.now)  # wraps to its six lines
    rig.step()
    assert_inside(text_box(rig), rig.margin)  # type: ignore[attr-defined]


@pytest.mark.parametrize("overscan", [0, 5])
def test_the_waiting_screen_stays_inside_the_safe_area(tmp_path: Path, overscan: int) -> None:
    rig = Rig(tmp_path, FakePlayer(), size=FULL_HD, ui=f", overscan_percent: {overscan}", titles=[])
    try:
        go_offline(rig, ErrorKind.SETUP)  # the longer sentence: the family must check the settings
        assert rig.app.top.name == "empty"
        assert_inside(text_box(rig), safe_margin(overscan))
    finally:
        rig.app.close()
        pygame.display.quit()


def test_a_title_page_with_a_long_episode_list_stays_inside_the_safe_area(rig: Rig) -> None:
    go_offline(rig, ErrorKind.SERVER)  # and with the note that films cannot play now
    rig.app.open_title(rig.app.ui.library.catalog.by_id["s"])
    assert rig.app.status()["focus"]["warning"].startswith("지금은 영화 서버에 문제가 있어서")
    for _ in range(15):
        rig.key("down")
    rig.step()
    assert_inside(text_box(rig), rig.margin)  # type: ignore[attr-defined]


def test_the_player_overlay_stays_inside_the_safe_area(rig: Rig) -> None:
    title = rig.app.ui.library.catalog.by_id["s"]
    rig.app.ui.play(title, title.episodes[0], 0.0)
    rig.player.start_playing(duration=1500, position=600)
    rig.player.set(sub_delay=-0.4)
    rig.step()
    rig.key("ok")  # paused: info bar and pause sign
    rig.key("red")  # the legend
    rig.key("red")  # a notice at the top
    assert_inside(text_box(rig), rig.margin)  # type: ignore[attr-defined]
    rig.step(LEGEND_S + 5)
    rig.key("ok")
    rig.player.set(position=1499)
    rig.step()
    rig.player.fire("ended", reason="eof")
    rig.step()
    assert rig.app.status()["now_playing"]["countdown"] is not None
    assert_inside(text_box(rig), rig.margin)  # type: ignore[attr-defined]


def test_nothing_she_must_read_is_smaller_than_28_px_at_1080p(tmp_path: Path) -> None:
    rig = Rig(tmp_path, FakePlayer(), size=FULL_HD, titles=library())
    sizes: dict[int, str] = {}
    fonts = rig.app.ui.fonts
    real = fonts.render

    def recording(text: str, size: int, *args: object, **kwargs: object) -> pygame.Surface:
        sizes.setdefault(size, text)
        return real(text, size, *args, **kwargs)  # type: ignore[arg-type]

    fonts.render = recording  # type: ignore[method-assign]
    try:
        go_offline(rig, ErrorKind.NETWORK)  # the footer
        rig.app._library_changed()
        rig.key("down")  # posters with "new" badges and drawn placeholders
        rig.key("ok")  # a title's page with its note and episode list
        rig.step()
        rig.app.overlays.show_message("엄마, 새 영화가 들어왔어요", 30, rig.clock.now)
        rig.step()
        rig.key("ok")
        rig.key("ok")  # play: info bar, pause sign, legend, notices
        rig.player.start_playing(duration=1500, position=600)
        rig.player.set(sub_delay=0.2)
        rig.step()
        rig.key("ok")
        rig.key("blue")
        rig.step()
        assert rig.app.status()["now_playing"]["legend"]
        assert min(sizes) >= theme.MIN_TEXT, {size: text for size, text in sizes.items() if size < theme.MIN_TEXT}
        assert len(sizes) >= 8  # the recording saw the screens' many sizes, not one
    finally:
        del fonts.render
        rig.app.close()
        pygame.display.quit()
